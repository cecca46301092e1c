import { Command, CommanderError } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { registerAccountCommands } from './commands/account.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerCertificateAuthorityCommands } from './commands/certificate-authorities.js';
import { registerDataListCommands } from './commands/data-lists.js';
import { registerFactoryCommands } from './commands/factories.js';
import { registerGroupCommands } from './commands/groups.js';
import { registerImageCommands } from './commands/image.js';
import { registerJobCommands } from './commands/jobs.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerPeopleCommands } from './commands/people.js';
import { registerProgrammerCommands } from './commands/programmers.js';
import { registerSigningKeyCommands } from './commands/signing-keys.js';
import { registerSourceCommands } from './commands/sources.js';
import { registerWebhookCommands } from './commands/webhooks.js';
import { type CommandHandler, type RunState, bindAction } from './context.js';
import { EXIT_OK, EXIT_USAGE, describeError, formatError } from './errors.js';
import type { CliIo } from './io.js';
import { jsonText } from './output.js';
import { registerSimulateCommand } from './simulate/command.js';

/** What every command module gets: where to write, and how to bind a handler. */
export interface CommandKit {
  io: CliIo;
  action<A extends unknown[]>(handler: CommandHandler<A>): (...args: unknown[]) => Promise<void>;
}

/** The CLI ships in the repository: its version is the package's (inlined when cli/bin bundles it). */
const CLI_VERSION = packageJson.version;

export function buildProgram(io: CliIo, state: RunState): Command {
  const program = new Command('flashline')
    .description('Flashline: publish cloud-connected images, steer jobs, simulate programmers')
    .version(CLI_VERSION, '-V, --version', 'print the version of this CLI')
    .option('--credentials <file>', 'credentials file (default: $FLASHLINE_CREDENTIALS or ~/.flashline/credentials.json)')
    .option('--json', 'print JSON for scripts instead of tables')
    .showHelpAfterError('(add --help for usage)')
    // Set before any subcommand exists: commander copies both settings into every subcommand.
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) });
  program.configureHelp({ sortSubcommands: true });

  const kit: CommandKit = { io, action: (handler) => bindAction(io, state, handler) };
  registerAccountCommands(program, kit);
  registerCertificateAuthorityCommands(program, kit);
  registerKeyCommands(program, kit);
  registerPeopleCommands(program, kit);
  registerFactoryCommands(program, kit);
  registerProgrammerCommands(program, kit);
  registerGroupCommands(program, kit);
  registerImageCommands(program, kit);
  registerJobCommands(program, kit);
  registerSourceCommands(program, kit);
  registerDataListCommands(program, kit);
  registerAuditCommands(program, kit);
  registerSigningKeyCommands(program, kit);
  registerWebhookCommands(program, kit);
  registerSimulateCommand(program, kit);
  return program;
}

/**
 * Runs one command line and returns its exit code: 0 ok, 1 refused/not found/failed, 2 usage.
 * Never calls process.exit, so tests run it in-process.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const state: RunState = { exitCode: EXIT_OK };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version print and succeed; commander has already written its own usage error.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
      return EXIT_USAGE;
    }
    const reported = describeError(error);
    if (argv.includes('--json')) {
      io.stderr.write(`${jsonText({ error: { code: reported.code, message: reported.message, status: reported.status, details: reported.details } })}\n`);
    } else {
      io.stderr.write(formatError(reported));
    }
    return reported.exitCode;
  }
}
