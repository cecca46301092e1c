import { type Command, Option } from 'commander';
import { ACCOUNT_ROLES } from '../../shared/contract/route.js';
import * as contract from '../../shared/contract/index.js';
import type { FlashlineClient } from '../../shared/contract/client.js';
import { UsageError } from '../errors.js';
import { YES_HELP, choiceOption, collect } from '../options.js';
import { formatTime, renderFields, renderTable } from '../output.js';
import type { CommandKit } from '../program.js';
import { type Person, factoryNames, resolveFactory, resolvePerson } from '../resolve.js';

/** Factory names or ids → ids (each must be a factory of the account). */
async function factoryIdsOf(client: FlashlineClient, wanted: string[]): Promise<string[]> {
  return (await Promise.all(wanted.map((factory) => resolveFactory(client, factory)))).map((f) => f.factoryId);
}

function personFields(person: Person, names: Map<string, string>): string {
  return renderFields([
    ['Person', `${person.email} (${person.personId})`],
    ['Role', person.role],
    ['Factories', person.factoryIds ? person.factoryIds.map((id) => names.get(id) ?? id).join(', ') : 'every factory'],
    ['Status', person.status],
    ['Invited', `${formatTime(person.createdAt)} by ${person.createdBy}`],
  ]);
}

/**
 * People who sign in to the console (api.md "People, roles per factory"): an admin invites them
 * by email with a role, optionally limited to factories. Needs a stack with its user pool.
 */
export function registerPeopleCommands(program: Command, kit: CommandKit): void {
  const people = program.command('people').description('people who sign in to the console, with a role per account or per factory (admin)');

  people
    .command('ls')
    .description('list the people of the account')
    .action(
      kit.action(async (context) => {
        const client = context.client();
        const [items, names] = await Promise.all([client.listAll(contract.listPeople, { query: { limit: 100 } }), factoryNames(client)]);
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'PERSON', value: (p) => p.personId },
            { header: 'EMAIL', value: (p) => p.email },
            { header: 'ROLE', value: (p) => p.role },
            { header: 'FACTORIES', value: (p) => (p.factoryIds ? p.factoryIds.map((id) => names.get(id) ?? id).join(', ') : 'all') },
            { header: 'STATUS', value: (p) => p.status },
          ]),
        );
      }),
    );

  people
    .command('invite')
    .description('invite a person by email: the user pool mails a temporary password (the local stack shows it instead)')
    .argument('<email>')
    .requiredOption('--role <role>', `one of ${ACCOUNT_ROLES.join(', ')}`, choiceOption(ACCOUNT_ROLES))
    .option('--factory <factory>', 'limit the role to this factory, name or id (repeatable; not with --role admin)', collect)
    .action(
      kit.action(async (context, email: string, options: { role: (typeof ACCOUNT_ROLES)[number]; factory?: string[] }) => {
        const client = context.client();
        const factoryIds = options.factory ? await factoryIdsOf(client, options.factory) : undefined;
        const { person, temporaryPassword } = await client.call(contract.createPerson, { body: { email, role: options.role, factoryIds } });
        const names = context.json ? new Map<string, string>() : await factoryNames(client);
        context.print({ person, temporaryPassword }, () =>
          personFields(person, names) +
          (temporaryPassword ? `Temporary password: ${temporaryPassword}\n(no mail was sent: hand it over; it must be changed at the first sign-in)\n` : 'The user pool mailed the temporary password.\n'),
        );
      }),
    );

  people
    .command('update')
    .description("change a person's role, factories or status")
    .argument('<person>', 'email or id')
    .addOption(new Option('--role <role>', `one of ${ACCOUNT_ROLES.join(', ')}`).argParser(choiceOption(ACCOUNT_ROLES)))
    .option('--factory <factory>', 'limit the role to this factory, name or id (repeatable; replaces the factories)', collect)
    .option('--all-factories', 'the role applies to every factory again')
    .addOption(new Option('--disable', 'block sign-in and stop their tokens').conflicts('enable'))
    .option('--enable', 'let a disabled person sign in again')
    .action(
      kit.action(async (context, wanted: string, options: { role?: (typeof ACCOUNT_ROLES)[number]; factory?: string[]; allFactories?: boolean; disable?: boolean; enable?: boolean }) => {
        if (options.factory && options.allFactories) throw new UsageError('give --factory or --all-factories, not both');
        const body: contract.BodyInputOf<typeof contract.updatePerson> = {};
        if (options.role) body.role = options.role;
        if (options.allFactories) body.factoryIds = null;
        if (options.disable) body.status = 'disabled';
        if (options.enable) body.status = 'active';
        if (Object.keys(body).length === 0 && !options.factory) throw new UsageError('give something to change: --role, --factory, --all-factories, --disable or --enable');
        const client = context.client();
        if (options.factory) body.factoryIds = await factoryIdsOf(client, options.factory);
        const current = await resolvePerson(client, wanted);
        const { person } = await client.call(contract.updatePerson, { params: { personId: current.personId }, body });
        const names = context.json ? new Map<string, string>() : await factoryNames(client);
        context.print({ person }, () => personFields(person, names));
      }),
    );

  people
    .command('rm')
    .description('remove a person: their user is deleted and their tokens stop working; asks first on a terminal')
    .argument('<person>', 'email or id')
    .option('-y, --yes', YES_HELP)
    .action(
      kit.action(async (context, wanted: string, options: { yes?: boolean }) => {
        const confirm = context.confirmation('people rm', options.yes);
        const client = context.client();
        const person = await resolvePerson(client, wanted);
        await confirm(`Remove ${person.email} (${person.personId})? They can no longer sign in.`);
        await client.call(contract.deletePerson, { params: { personId: person.personId } });
        context.print({ deleted: { personId: person.personId, email: person.email } }, () => `Removed ${person.email} (${person.personId})\n`);
      }),
    );
}
