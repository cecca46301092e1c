import type { Command } from 'commander';
import * as contract from '../../shared/contract/index.js';
import { YES_HELP } from '../options.js';
import { formatTime, renderTable } from '../output.js';
import type { CommandKit } from '../program.js';
import { resolveFactory, resolveGroup } from '../resolve.js';

/**
 * Programmer groups (api.md "Programmer groups"): named sets of a factory's programmers that a
 * job may target (`jobs update --target-group`). Membership is set per programmer
 * (`programmers groups`).
 */
export function registerGroupCommands(program: Command, kit: CommandKit): void {
  const groups = program.command('groups').description("programmer groups of a factory: what jobs target (jobs update --target-group)");

  groups
    .command('ls')
    .description("list a factory's groups")
    .requiredOption('--factory <factory>', 'name or id')
    .action(
      kit.action(async (context, options: { factory: string }) => {
        const client = context.client();
        const factory = await resolveFactory(client, options.factory);
        const items = await client.listAll(contract.listGroups, { params: { factoryId: factory.factoryId }, query: { limit: 100 } });
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'GROUP', value: (g) => g.groupId },
            { header: 'NAME', value: (g) => g.name },
            { header: 'CREATED', value: (g) => formatTime(g.createdAt) },
          ]),
        );
      }),
    );

  groups
    .command('create')
    .description('create a group in a factory (admin; names unique per factory)')
    .argument('<name>')
    .requiredOption('--factory <factory>', 'name or id')
    .action(
      kit.action(async (context, name: string, options: { factory: string }) => {
        const client = context.client();
        const factory = await resolveFactory(client, options.factory);
        const { group } = await client.call(contract.createGroup, { params: { factoryId: factory.factoryId }, body: { name } });
        context.print({ group }, () => `Created group ${group.name} (${group.groupId}) in ${factory.name}\n`);
      }),
    );

  groups
    .command('rm')
    .description('delete a group that no programmer belongs to and no job targets (admin); asks first on a terminal')
    .argument('<group>', 'name or id')
    .requiredOption('--factory <factory>', 'name or id of its factory')
    .option('-y, --yes', YES_HELP)
    .action(
      kit.action(async (context, wanted: string, options: { factory: string; yes?: boolean }) => {
        const confirm = context.confirmation('groups rm', options.yes);
        const client = context.client();
        const factory = await resolveFactory(client, options.factory);
        const group = await resolveGroup(client, factory.factoryId, wanted);
        await confirm(`Delete group ${group.name} (${group.groupId}) of ${factory.name}?`);
        await client.call(contract.deleteGroup, { params: { groupId: group.groupId } });
        context.print({ deleted: { groupId: group.groupId, name: group.name } }, () => `Deleted group ${group.name} (${group.groupId})\n`);
      }),
    );
}
