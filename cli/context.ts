import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CredentialsFileType } from '../shared/contract/account.js';
import { FlashlineClient, type FlashlineClientOptions } from '../shared/contract/client.js';
import { credentialsPath, inSecretsFolder, readCredentials, writeCredentials } from './credentials.js';
import { CliFailure, UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { printJson, terminalSafe } from './output.js';

export interface GlobalOptions {
  credentials?: string;
  json?: boolean;
}

/** What one run of the CLI shares between its commands: the exit code a command may lower to 1. */
export interface RunState {
  exitCode: number;
}

/** Everything a command needs: output in the chosen format, the credentials, one client. */
export class CommandContext {
  private cachedCredentials: CredentialsFileType | undefined;
  private cachedClient: FlashlineClient | undefined;

  constructor(
    readonly io: CliIo,
    readonly options: GlobalOptions,
    private readonly state: RunState,
  ) {}

  get json(): boolean {
    return this.options.json === true;
  }

  get credentialsFile(): string {
    return credentialsPath(this.options.credentials, this.io);
  }

  credentials(): CredentialsFileType {
    this.cachedCredentials ??= readCredentials(this.credentialsFile);
    return this.cachedCredentials;
  }

  client(extra: Partial<FlashlineClientOptions> = {}): FlashlineClient {
    this.cachedClient ??= FlashlineClient.fromCredentials(this.credentials(), { fetch: this.io.fetch, userAgent: 'flashline-cli', ...extra });
    return this.cachedClient;
  }

  /** `--json`: the value as JSON on stdout; otherwise the human rendering. */
  print(value: unknown, human: () => string): void {
    if (this.json) printJson(this.io.stdout, value);
    else this.io.stdout.write(human());
  }

  /**
   * Writes a new credentials file (0600). An `--out` outside a `.flashline` folder is the user's
   * choice, but no ignore rule of ours covers it there: say so, on stderr.
   */
  writeCredentialsFile(file: string, credentials: CredentialsFileType, overwrite: boolean | undefined): void {
    writeCredentials(file, credentials, { overwrite });
    if (!inSecretsFolder(file)) this.note(`${file} holds a secret and no ignore rule of flashline covers it: keep it out of version control`);
  }

  /** Progress and notes go to stderr, so stdout stays one parseable document with --json. */
  note(line: string): void {
    // Notes quote job names and API messages (the simulator's, the upload's): one escaped line each.
    this.io.stderr.write(`${terminalSafe(line)}\n`);
  }

  /**
   * For commands that delete: with `--yes` nothing is asked; on a terminal the returned function
   * asks and throws unless the answer is yes; anywhere else (scripts, CI, pipes) it is a usage
   * error before any request, so nothing is deleted by a script that forgot to say so.
   */
  confirmation(command: string, yes: boolean | undefined): (question: string) => Promise<void> {
    if (yes) return async () => undefined;
    const { ask } = this.io;
    if (!this.io.interactive || !ask) {
      throw new UsageError(`${command} deletes: without a terminal to ask on, it needs --yes (nothing was deleted)`);
    }
    return async (question) => {
      const answer = await ask(`${question} [y/N] `);
      if (!/^\s*y(es)?\s*$/i.test(answer)) throw new CliFailure('not_confirmed', 'Not confirmed: nothing was deleted');
    };
  }

  /** The command finished and printed its output, yet did not get what was asked (a refusal): exit 1. */
  fail(): void {
    this.state.exitCode = Math.max(this.state.exitCode, 1);
  }

  /**
   * The web console's link to a job ("View online"): FLASHLINE_CONSOLE_URL, else the consoleUrl
   * `npm start` records in .flashline/local.json when that file names this API (a local console
   * must not be offered for another deployment's job).
   */
  consoleLink(jobId: string): string | null {
    const base = this.io.env.FLASHLINE_CONSOLE_URL ?? this.localConsoleUrl();
    if (!base) return null;
    return `${base.endsWith('/') ? base : `${base}/`}#/jobs/${encodeURIComponent(jobId)}`;
  }

  private localConsoleUrl(): string | undefined {
    const file = path.join(this.io.cwd, '.flashline', 'local.json');
    if (!existsSync(file)) return undefined;
    try {
      const local = JSON.parse(readFileSync(file, 'utf8')) as { apiUrl?: string; consoleUrl?: string };
      if (!local.consoleUrl) return undefined;
      if (local.apiUrl && local.apiUrl !== this.credentials().endpoint) return undefined;
      return local.consoleUrl;
    } catch {
      return undefined;
    }
  }
}

export type CommandHandler<A extends unknown[]> = (context: CommandContext, ...args: A) => Promise<void>;

/** Adapts a handler to commander's action signature (positionals…, options, command). */
export function bindAction<A extends unknown[]>(io: CliIo, state: RunState, handler: CommandHandler<A>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const context = new CommandContext(io, command.optsWithGlobals<GlobalOptions>(), state);
    await handler(context, ...(args.slice(0, -1) as A));
  };
}
