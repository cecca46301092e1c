import { Command } from 'commander';
import { createAccount } from '../shared/store/accounts.js';
import { createDocumentClient } from '../shared/store/clients.js';
import { readStackOutputs } from './lib/stack.js';

/**
 * Platform-operator commands. They talk to the deployed stack with the ambient AWS credentials
 * (the emulator locally, AWS in production) and find the tables from the stack outputs.
 */
const program = new Command('flashline-admin').description('Flashline platform-operator commands');

program
  .command('create-account')
  .description('Create an account with its default factory and a first admin key; prints the credentials file JSON')
  .requiredOption('--name <name>', 'account name')
  .option('--stack <name>', 'CloudFormation stack name', 'Flashline')
  .action(async (options: { name: string; stack: string }) => {
    const name = options.name.trim();
    if (!name || name.length > 200) program.error('--name must be 1–200 characters', { exitCode: 2 });
    const outputs = await readStackOutputs(options.stack);
    const db = { doc: createDocumentClient(), table: outputs.tableName, events: outputs.eventsTableName };
    const { account, admin } = await createAccount(db, name);
    const credentials = { endpoint: outputs.apiUrl, accountId: account.accountId, keyId: admin.apiKey.keyId, token: admin.token, role: 'admin' };
    process.stdout.write(`${JSON.stringify(credentials, null, 2)}\n`);
  });

program.parseAsync().catch((error: Error) => {
  process.stderr.write(`flashline-admin: ${error.message}\n`);
  process.exit(1);
});
