import type { Command } from 'commander';
import * as contract from '../../shared/contract/index.js';
import { formatTime, renderTable } from '../output.js';
import { YES_HELP } from '../options.js';
import type { CommandKit } from '../program.js';
import { resolveFactory } from '../resolve.js';

export function registerFactoryCommands(program: Command, kit: CommandKit): void {
  const factories = program.command('factories').description('Virtual Factories');

  factories
    .command('ls')
    .description('list the factories')
    .action(
      kit.action(async (context) => {
        const items = await context.client().listAll(contract.listFactories, { query: { limit: 100 } });
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'FACTORY', value: (f) => f.factoryId },
            { header: 'NAME', value: (f) => (f.isDefault ? `${f.name} (default)` : f.name) },
            { header: 'PROGRAMMERS', value: (f) => f.programmerCount, align: 'right' },
            { header: 'OPEN JOBS', value: (f) => f.openJobCount, align: 'right' },
            { header: 'CREATED', value: (f) => formatTime(f.createdAt) },
          ]),
        );
      }),
    );

  factories
    .command('create')
    .description('create a factory')
    .argument('<name>')
    .action(
      kit.action(async (context, name: string) => {
        const { factory } = await context.client().call(contract.createFactory, { body: { name } });
        context.print({ factory }, () => `Created factory ${factory.name} (${factory.factoryId})\n`);
      }),
    );

  factories
    .command('rename')
    .description('rename a factory')
    .argument('<factory>', 'name or id')
    .argument('<newName>')
    .action(
      kit.action(async (context, wanted: string, name: string) => {
        const client = context.client();
        const current = await resolveFactory(client, wanted);
        const { factory } = await client.call(contract.renameFactory, { params: { factoryId: current.factoryId }, body: { name } });
        context.print({ factory }, () => `Renamed ${current.name} to ${factory.name} (${factory.factoryId})\n`);
      }),
    );

  factories
    .command('rm')
    .description('delete an empty factory')
    .argument('<factory>', 'name or id')
    .option('-y, --yes', YES_HELP)
    .action(
      kit.action(async (context, wanted: string, options: { yes?: boolean }) => {
        const confirm = context.confirmation('factories rm', options.yes);
        const client = context.client();
        const factory = await resolveFactory(client, wanted);
        await confirm(`Delete factory ${factory.name} (${factory.factoryId})?`);
        await client.call(contract.deleteFactory, { params: { factoryId: factory.factoryId } });
        context.print({ deleted: { factoryId: factory.factoryId, name: factory.name } }, () => `Deleted factory ${factory.name} (${factory.factoryId})\n`);
      }),
    );
}
