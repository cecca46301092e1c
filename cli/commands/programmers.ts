import type { Command } from 'commander';
import type { FlashlineClient } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';
import { UsageError } from '../errors.js';
import type { CommandContext } from '../context.js';
import { assertWritable, credentialsOutPath } from '../credentials.js';
import { collect, YES_HELP } from '../options.js';
import { formatTime, renderFields, renderTable } from '../output.js';
import type { CommandKit } from '../program.js';
import { type Programmer, factoryNames, resolveFactory, resolveGroup, resolveProgrammer } from '../resolve.js';

/** Groups are named within a factory: without --factory, the default one's. */
async function defaultFactoryId(client: FlashlineClient): Promise<string> {
  const { account } = await client.call(contract.getAccount, {});
  return account.defaultFactoryId;
}

function printProgrammer(context: CommandContext, programmer: Programmer, verb: string, factoryName?: string): void {
  context.print({ programmer }, () => `${verb} ${programmer.name} (${programmer.programmerId}): ${programmer.status}${factoryName ? `, in ${factoryName}` : ''}\n`);
}

export function registerProgrammerCommands(program: Command, kit: CommandKit): void {
  const programmers = program.command('programmers').description('provisioned production programmers');

  programmers
    .command('ls')
    .description('list programmers')
    .option('--factory <factory>', 'only those of this factory (name or id)')
    .action(
      kit.action(async (context, options: { factory?: string }) => {
        const client = context.client();
        const factoryId = options.factory ? (await resolveFactory(client, options.factory)).factoryId : undefined;
        const [items, names] = await Promise.all([client.listAll(contract.listProgrammers, { query: { limit: 100, factoryId } }), factoryNames(client)]);
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'PROGRAMMER', value: (p) => p.programmerId },
            { header: 'NAME', value: (p) => p.name },
            { header: 'SERIAL', value: (p) => p.hardwareSerial },
            { header: 'FACTORY', value: (p) => names.get(p.factoryId) ?? p.factoryId },
            { header: 'STATUS', value: (p) => p.status },
            { header: 'KEYS', value: (p) => p.encryptionKeyIds.join(',') },
            { header: 'LAST SEEN', value: (p) => formatTime(p.lastSeenAt) },
          ]),
        );
      }),
    );

  programmers
    .command('show')
    .description('show a programmer: factory, status, keys, groups and when it last called')
    .argument('<programmer>', 'name or id')
    .action(
      kit.action(async (context, wanted: string) => {
        const client = context.client();
        const { programmerId } = await resolveProgrammer(client, wanted);
        const { programmer } = await client.call(contract.getProgrammer, { params: { programmerId } });
        const [names, groups] = context.json
          ? [new Map<string, string>(), []]
          : await Promise.all([factoryNames(client), client.listAll(contract.listGroups, { params: { factoryId: programmer.factoryId }, query: { limit: 100 } })]);
        const groupName = new Map(groups.map((g) => [g.groupId, g.name]));
        context.print({ programmer }, () =>
          renderFields([
            ['Programmer', `${programmer.name} (${programmer.programmerId})`],
            ['Serial', programmer.hardwareSerial],
            ['Factory', `${names.get(programmer.factoryId) ?? ''} (${programmer.factoryId})`.trim()],
            ['Status', programmer.status],
            ['Encryption keys', programmer.encryptionKeyIds.join(', ') || '(none)'],
            ['Groups', programmer.groupIds.map((id) => groupName.get(id) ?? id).join(', ') || '(none)'],
            ['Last seen', programmer.lastSeenAt ? formatTime(programmer.lastSeenAt) : 'never'],
            ['Provisioned', formatTime(programmer.createdAt)],
          ]),
        );
      }),
    );

  programmers
    .command('add')
    .description("provision a programmer and write its credentials file (mode 0600)")
    .argument('<name>')
    .requiredOption('--serial <hardwareSerial>', "the device's hardware serial number")
    .option('--factory <factory>', 'name or id (default: the default factory)')
    .option('--encryption-key <id>', 'an encryption key id loaded on the device (repeatable)', collect)
    .option('--group <group>', 'a group of its factory to join, name or id (repeatable)', collect)
    .option('--out <file>', 'where to write the credentials file (default: ./.flashline/<name>.credentials.json, a 0700 folder git ignores)')
    .option('--force', 'replace an existing file')
    .action(
      kit.action(async (context, name: string, options: { serial: string; factory?: string; encryptionKey?: string[]; group?: string[]; out?: string; force?: boolean }) => {
        const client = context.client();
        const file = credentialsOutPath(context.io.cwd, options.out, name);
        assertWritable(file, options.force);
        const factory = options.factory || options.group ? await resolveFactory(client, options.factory ?? (await defaultFactoryId(client))) : undefined;
        const groups = options.group && factory ? await Promise.all(options.group.map((group) => resolveGroup(client, factory.factoryId, group))) : undefined;
        const groupIds = groups?.map((g) => g.groupId);
        const created = await client.call(contract.provisionProgrammer, {
          body: { name, hardwareSerial: options.serial, factoryId: factory?.factoryId, encryptionKeyIds: options.encryptionKey, groupIds },
        });
        context.writeCredentialsFile(file, created.credentials, options.force);
        const { programmer } = created;
        context.print({ programmer, credentialsFile: file }, () =>
          renderFields([
            ['Provisioned', `${programmer.name} (${programmer.programmerId})`],
            ['Factory', factory ? `${factory.name} (${factory.factoryId})` : programmer.factoryId],
            ['Encryption keys', programmer.encryptionKeyIds.join(', ') || '(none)'],
            ...(groups ? [['Groups', groups.map((g) => g.name).join(', ')] as [string, string]] : []),
            ['Credentials', `${file} (mode 0600; install it on the device)`],
          ]),
        );
      }),
    );

  programmers
    .command('move')
    .description('move a programmer to another factory')
    .argument('<programmer>', 'name or id')
    .argument('<factory>', 'name or id')
    .action(
      kit.action(async (context, wantedProgrammer: string, wantedFactory: string) => {
        const client = context.client();
        const [current, factory] = await Promise.all([resolveProgrammer(client, wantedProgrammer), resolveFactory(client, wantedFactory)]);
        const { programmer } = await client.call(contract.updateProgrammer, { params: { programmerId: current.programmerId }, body: { factoryId: factory.factoryId } });
        printProgrammer(context, programmer, 'Moved', factory.name);
      }),
    );

  for (const [verb, status, past] of [
    ['disable', 'disabled', 'Disabled'],
    ['enable', 'active', 'Enabled'],
  ] as const) {
    programmers
      .command(verb)
      .description(verb === 'disable' ? 'disable a programmer: it is refused with programmer_disabled' : 'enable a disabled programmer')
      .argument('<programmer>', 'name or id')
      .action(
        kit.action(async (context, wanted: string) => {
          const client = context.client();
          const current = await resolveProgrammer(client, wanted);
          const { programmer } = await client.call(contract.updateProgrammer, { params: { programmerId: current.programmerId }, body: { status } });
          printProgrammer(context, programmer, past);
        }),
      );
  }

  programmers
    .command('update')
    .description('rename a programmer and/or replace the encryption key ids loaded on it (admin)')
    .argument('<programmer>', 'name or id')
    .option('--name <name>', 'the new name')
    .option('--encryption-key <id>', 'an encryption key id loaded on the device (repeatable; replaces the list)', collect)
    .option('--no-encryption-keys', 'the device holds no encryption key (it gets no cloud images)')
    .action(
      kit.action(async (context, wanted: string, options: { name?: string; encryptionKey?: string[]; encryptionKeys?: boolean }) => {
        if (options.encryptionKey && options.encryptionKeys === false) throw new UsageError('give --encryption-key or --no-encryption-keys, not both');
        const encryptionKeyIds = options.encryptionKeys === false ? [] : options.encryptionKey;
        if (options.name === undefined && encryptionKeyIds === undefined) throw new UsageError('give something to change: --name, --encryption-key or --no-encryption-keys');
        const client = context.client();
        const current = await resolveProgrammer(client, wanted);
        const { programmer } = await client.call(contract.updateProgrammer, { params: { programmerId: current.programmerId }, body: { name: options.name, encryptionKeyIds } });
        context.print({ programmer }, () => `Updated ${programmer.name} (${programmer.programmerId}): keys ${programmer.encryptionKeyIds.join(', ') || '(none)'}\n`);
      }),
    );

  programmers
    .command('groups')
    .description("set the groups a programmer belongs to (admin): names or ids of its factory's groups; none leaves it in no group")
    .argument('<programmer>', 'name or id')
    .argument('[groups...]', 'names or ids')
    .action(
      kit.action(async (context, wanted: string, wantedGroups: string[]) => {
        const client = context.client();
        const current = await resolveProgrammer(client, wanted);
        const chosen = await Promise.all(wantedGroups.map((group) => resolveGroup(client, current.factoryId, group)));
        const { programmer } = await client.call(contract.updateProgrammer, { params: { programmerId: current.programmerId }, body: { groupIds: chosen.map((g) => g.groupId) } });
        context.print({ programmer }, () => `${programmer.name} (${programmer.programmerId}) is in ${chosen.length === 0 ? 'no group' : chosen.map((g) => g.name).join(', ')}\n`);
      }),
    );

  programmers
    .command('rm')
    .description('deprovision a programmer (its credentials stop working within the 30 s authorizer cache)')
    .argument('<programmer>', 'name or id')
    .option('-y, --yes', YES_HELP)
    .action(
      kit.action(async (context, wanted: string, options: { yes?: boolean }) => {
        const confirm = context.confirmation('programmers rm', options.yes);
        const client = context.client();
        const programmer = await resolveProgrammer(client, wanted);
        await confirm(`Deprovision programmer ${programmer.name} (${programmer.programmerId})? Its credentials stop working.`);
        await client.call(contract.deprovisionProgrammer, { params: { programmerId: programmer.programmerId } });
        context.print({ deleted: { programmerId: programmer.programmerId, name: programmer.name } }, () => `Deprovisioned ${programmer.name} (${programmer.programmerId})\n`);
      }),
    );
}
