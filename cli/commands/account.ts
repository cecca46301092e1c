import type { Command } from 'commander';
import * as contract from '../../shared/contract/index.js';
import { renderFields } from '../output.js';
import type { CommandKit } from '../program.js';

export function registerAccountCommands(program: Command, kit: CommandKit): void {
  program
    .command('account')
    .description('show the account of the credentials file')
    .action(
      kit.action(async (context) => {
        const client = context.client();
        const credentials = context.credentials();
        const { account } = await client.call(contract.getAccount);
        const { factory } = await client.call(contract.getFactory, { params: { factoryId: account.defaultFactoryId } });
        context.print({ account, defaultFactory: factory, key: { keyId: credentials.keyId, role: credentials.role }, endpoint: credentials.endpoint }, () =>
          renderFields([
            ['Account', `${account.name} (${account.accountId})`],
            ['Default factory', `${factory.name} (${factory.factoryId})`],
            ['Key', `${credentials.keyId} (${credentials.role})`],
            ['Endpoint', credentials.endpoint],
          ]),
        );
      }),
    );
}
