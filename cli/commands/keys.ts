import type { Command } from 'commander';
import * as contract from '../../shared/contract/index.js';
import { assertWritable, credentialsOutPath } from '../credentials.js';
import { choiceOption, YES_HELP } from '../options.js';
import { formatTime, renderFields, renderTable } from '../output.js';
import type { CommandKit } from '../program.js';
import { ACCOUNT_ROLES as ROLES } from '../../shared/contract/route.js';

export function registerKeyCommands(program: Command, kit: CommandKit): void {
  const keys = program.command('keys').description('account API keys (admin)');

  keys
    .command('ls')
    .description('list the API keys (never their tokens)')
    .action(
      kit.action(async (context) => {
        const items = await context.client().listAll(contract.listApiKeys, { query: { limit: 100 } });
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'KEY', value: (k) => k.keyId },
            { header: 'NAME', value: (k) => k.name },
            { header: 'ROLE', value: (k) => k.role },
            { header: 'FACTORIES', value: (k) => k.factoryIds?.join(',') ?? 'all' },
            { header: 'STATUS', value: (k) => k.status },
            { header: 'CREATED', value: (k) => formatTime(k.createdAt) },
            { header: 'REVOKED', value: (k) => formatTime(k.revokedAt) },
          ]),
        );
      }),
    );

  keys
    .command('create')
    .description('create an API key and write its credentials file (mode 0600; the token is shown only once)')
    .argument('<name>', 'what the key is for, e.g. "image tool"')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, choiceOption(ROLES))
    .option('--factory <factoryId...>', 'limit the key to these factories (ids; default: every factory; not with --role admin)')
    .option('--out <file>', 'where to write the credentials file (default: ./.flashline/<name>.credentials.json, a 0700 folder git ignores)')
    .option('--force', 'replace an existing file')
    .action(
      kit.action(async (context, name: string, options: { role: (typeof ROLES)[number]; factory?: string[]; out?: string; force?: boolean }) => {
        const file = credentialsOutPath(context.io.cwd, options.out, name);
        assertWritable(file, options.force);
        const created = await context.client().call(contract.createApiKey, { body: { name, role: options.role, ...(options.factory ? { factoryIds: options.factory } : {}) } });
        context.writeCredentialsFile(file, created.credentials, options.force);
        // The token lives in the file only: never on stdout, where terminals and CI logs keep it.
        context.print({ keyId: created.keyId, apiKey: created.apiKey, credentialsFile: file }, () =>
          renderFields([
            ['Created key', `${created.apiKey.name} (${created.keyId}, ${created.apiKey.role})`],
            ['Credentials', `${file} (mode 0600; keep it secret)`],
          ]),
        );
      }),
    );

  keys
    .command('revoke')
    .description('revoke an API key (it stops working within the 30 s authorizer cache)')
    .argument('<keyId>')
    .option('-y, --yes', YES_HELP)
    .action(
      kit.action(async (context, keyId: string, options: { yes?: boolean }) => {
        await context.confirmation('keys revoke', options.yes)(`Revoke API key ${keyId}? Whoever uses it loses access.`);
        const { apiKey } = await context.client().call(contract.revokeApiKey, { params: { keyId } });
        context.print({ apiKey }, () => `Revoked ${apiKey.name} (${apiKey.keyId})\n`);
      }),
    );
}
