import type { FlashlineClient, ListItemOf } from '../shared/contract/client.js';
import * as contract from '../shared/contract/index.js';
import { CliFailure } from './errors.js';

export type Factory = ListItemOf<typeof contract.listFactories>;
export type Programmer = ListItemOf<typeof contract.listProgrammers>;

/**
 * Finds one object by id or by name. The id wins; then an exact name; then a case-insensitive
 * name if exactly one matches. Several matches are refused rather than guessed.
 */
function pick<T>(items: readonly T[], wanted: string, idOf: (item: T) => string, nameOf: (item: T) => string, kind: { one: string; many: string }): T {
  const byId = items.find((item) => idOf(item) === wanted);
  if (byId) return byId;
  for (const matches of [items.filter((item) => nameOf(item) === wanted), items.filter((item) => nameOf(item).toLowerCase() === wanted.trim().toLowerCase())]) {
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new CliFailure('ambiguous_name', `${matches.length} ${kind.many} are named "${wanted}"; use the id`, { ids: matches.map(idOf) });
    }
  }
  throw new CliFailure('not_found', `no ${kind.one} with the id or name "${wanted}"`);
}

export async function resolveFactory(client: FlashlineClient, wanted: string): Promise<Factory> {
  const factories = await client.listAll(contract.listFactories, { query: { limit: 100 } });
  return pick(factories, wanted, (f) => f.factoryId, (f) => f.name, { one: 'factory', many: 'factories' });
}

export async function resolveProgrammer(client: FlashlineClient, wanted: string): Promise<Programmer> {
  const programmers = await client.listAll(contract.listProgrammers, { query: { limit: 100 } });
  return pick(programmers, wanted, (p) => p.programmerId, (p) => p.name, { one: 'programmer', many: 'programmers' });
}

/** factoryId → name, for tables that would otherwise show opaque ids. */
export async function factoryNames(client: FlashlineClient): Promise<Map<string, string>> {
  const factories = await client.listAll(contract.listFactories, { query: { limit: 100 } });
  return new Map(factories.map((f) => [f.factoryId, f.name]));
}

export type Group = ListItemOf<typeof contract.listGroups>;

/** A programmer group of one factory, by id or name (names are unique per factory). */
export async function resolveGroup(client: FlashlineClient, factoryId: string, wanted: string): Promise<Group> {
  const groups = await client.listAll(contract.listGroups, { params: { factoryId }, query: { limit: 100 } });
  return pick(groups, wanted, (g) => g.groupId, (g) => g.name, { one: 'group in this factory', many: 'groups' });
}

export type Person = ListItemOf<typeof contract.listPeople>;

/** A person of the account, by id or email. */
export async function resolvePerson(client: FlashlineClient, wanted: string): Promise<Person> {
  const people = await client.listAll(contract.listPeople, { query: { limit: 100 } });
  return pick(people, wanted, (p) => p.personId, (p) => p.email, { one: 'person', many: 'people' });
}
