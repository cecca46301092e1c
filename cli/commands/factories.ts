import type { Command } from 'commander';
import * as contract from '../../shared/contract/index.js';
import { UsageError } from '../errors.js';
import { formatTime, renderFields, renderTable } from '../output.js';
import { YES_HELP, integerOption } from '../options.js';
import type { CommandKit } from '../program.js';
import { resolveFactory } from '../resolve.js';

function factoryFields(factory: contract.ResponseOf<typeof contract.getFactory>['factory']): string {
  return renderFields([
    ['Factory', `${factory.name} (${factory.factoryId})${factory.isDefault ? ', the default' : ''}`],
    ['Programmers', factory.programmerCount],
    ['Open jobs', factory.openJobCount],
    ['Offline after', factory.programmerOfflineMinutes === null ? 'never reported' : `${factory.programmerOfflineMinutes} min without a device call`],
    ['Created', formatTime(factory.createdAt)],
  ]);
}

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
    .command('update')
    .description('rename a factory and/or set after how many silent minutes its programmers are reported offline (admin)')
    .argument('<factory>', 'name or id')
    .option('--name <name>', 'the new name')
    .option('--offline-after <minutes>', 'report a programmer offline (event programmer.offline) after this many minutes without a device call', integerOption(1, contract.MAX_PROGRAMMER_OFFLINE_MINUTES))
    .option('--never-offline', 'never report its programmers offline')
    .action(
      kit.action(async (context, wanted: string, options: { name?: string; offlineAfter?: number; neverOffline?: boolean }) => {
        if (options.offlineAfter !== undefined && options.neverOffline) throw new UsageError('give --offline-after or --never-offline, not both');
        const body = { name: options.name, programmerOfflineMinutes: options.neverOffline ? null : options.offlineAfter };
        if (body.name === undefined && body.programmerOfflineMinutes === undefined) throw new UsageError('give something to change: --name, --offline-after or --never-offline');
        const client = context.client();
        const current = await resolveFactory(client, wanted);
        const { factory } = await client.call(contract.renameFactory, { params: { factoryId: current.factoryId }, body });
        context.print({ factory }, () => factoryFields(factory));
      }),
    );

  factories
    .command('show')
    .description('show a factory: its counts and offline setting')
    .argument('<factory>', 'name or id')
    .action(
      kit.action(async (context, wanted: string) => {
        const client = context.client();
        const { factoryId } = await resolveFactory(client, wanted);
        const { factory } = await client.call(contract.getFactory, { params: { factoryId } });
        context.print({ factory }, () => factoryFields(factory));
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
