import * as path from 'node:path';
import { Command } from 'commander';
import { createAccount } from '../shared/store/accounts.js';
import { createDocumentClient } from '../shared/store/clients.js';
import { NO_CURSORS } from '../shared/store/cursors.js';
import { migrateToV11 } from '../shared/store/migrations.js';
import { setAccountRateLimit } from '../shared/store/rate-limits.js';
import { type RateLimit, validRateLimit } from '../shared/domain/rate-limits.js';
import { adminEnvironmentHere } from './lib/admin-env.js';
import { quietSdkNodeVersionWarning } from './lib/sdk-warning.js';
import { API_STACK_NAME, STACK_NAME, readStackOutputs } from './lib/stack.js';

/**
 * Platform-operator commands. They talk to the deployed stack with the ambient AWS credentials
 * (AWS in production, or an emulator the caller points at); with no AWS environment at all, to
 * the local stack `npm start` recorded in .flashline/local.json. They find the tables from the
 * stack outputs.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const program = new Command('flashline-admin').description('Flashline platform-operator commands');

program
  .command('create-account')
  .description('Create an account with its default factory and a first admin key; prints the credentials file JSON')
  .requiredOption('--name <name>', 'account name')
  .option('--stack <name>', 'the stateful CloudFormation stack', STACK_NAME)
  .option('--api-stack <name>', 'the stateless CloudFormation stack', API_STACK_NAME)
  .action(async (options: { name: string; stack: string; apiStack: string }) => {
    const name = options.name.trim();
    if (!name || name.length > 200) program.error('--name must be 1–200 characters', { exitCode: 2 });
    quietSdkNodeVersionWarning();
    // Before any SDK client exists: they read region, endpoint and credentials from the environment.
    Object.assign(process.env, adminEnvironmentHere(ROOT).env);
    const outputs = await readStackOutputs(options.stack, options.apiStack);
    const db = { doc: createDocumentClient(), table: outputs.tableName, events: outputs.eventsTableName, cursors: NO_CURSORS };
    const { account, admin } = await createAccount(db, name);
    const credentials = { endpoint: outputs.apiUrl, accountId: account.accountId, keyId: admin.apiKey.keyId, token: admin.token, role: 'admin' };
    process.stdout.write(`${JSON.stringify(credentials, null, 2)}\n`);
  });

program
  .command('migrate')
  .description('Bring data written before v1.1 into its layout (job index, results stored per report); idempotent, run once after updating the stack')
  .option('--stack <name>', 'the stateful CloudFormation stack', STACK_NAME)
  .option('--api-stack <name>', 'the stateless CloudFormation stack', API_STACK_NAME)
  .action(async (options: { stack: string; apiStack: string }) => {
    quietSdkNodeVersionWarning();
    Object.assign(process.env, adminEnvironmentHere(ROOT).env);
    const outputs = await readStackOutputs(options.stack, options.apiStack);
    const report = await migrateToV11({ doc: createDocumentClient(), table: outputs.tableName, events: outputs.eventsTableName, cursors: NO_CURSORS });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  });

program
  .command('set-rate-limit')
  .description("Set one account's rate limit for its programmers (device) or its keys (management), or --default to go back to the deployment's; containers take it up within one lease")
  .requiredOption('--account <accountId>', 'the account')
  .requiredOption('--routes <device|management>', 'which side of the API')
  .option('--rate <perSecond>', 'sustained requests a second')
  .option('--burst <requests>', 'requests at once after a quiet spell')
  .option('--default', "remove the account's own limit")
  .option('--stack <name>', 'CloudFormation stack name', 'Flashline')
  .action(async (options: { account: string; routes: string; rate?: string; burst?: string; default?: boolean; stack: string }) => {
    if (options.routes !== 'device' && options.routes !== 'management') program.error('--routes must be device or management', { exitCode: 2 });
    if (Boolean(options.default) === (options.rate !== undefined || options.burst !== undefined)) program.error('give --rate and --burst, or --default', { exitCode: 2 });
    let limit: RateLimit | undefined;
    try {
      limit = options.default ? undefined : validRateLimit({ ratePerSecond: Number(options.rate), burst: Number(options.burst) }, 'limit');
    } catch (error) {
      program.error((error as Error).message.replace('limit.ratePerSecond', '--rate').replace('limit.burst', '--burst'), { exitCode: 2 });
    }
    quietSdkNodeVersionWarning();
    Object.assign(process.env, adminEnvironmentHere(ROOT).env);
    const outputs = await readStackOutputs(options.stack);
    const db = { doc: createDocumentClient(), table: outputs.tableName, events: outputs.eventsTableName, cursors: NO_CURSORS };
    await setAccountRateLimit(db, options.account, options.routes === 'device' ? 'deviceAccount' : 'managementAccount', limit);
    process.stdout.write(`${JSON.stringify({ accountId: options.account, routes: options.routes, limit: limit ?? 'deployment default' })}\n`);
  });

program.parseAsync().catch((error: Error) => {
  process.stderr.write(`flashline-admin: ${error.message}\n`);
  process.exit(1);
});
