import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { AccountRole } from '../contract/route.js';
import { ConflictError, NotFoundError, UnknownReferenceError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { auditItem } from './audit.js';
import { type Db, cancelledConditions, getItems, nowIso } from './db.js';
import { SK_PREFIX, keys } from './keys.js';
import { type PageRequest, accountPage } from './pages.js';

/**
 * People who sign in to the console through the user pool. The pool proves who they are; what
 * they may do (role, factories, active or not) lives here, so an admin's change takes effect at
 * the authorizer's next look-up and never waits for a token to expire.
 */
export type PersonStatus = 'active' | 'disabled';

export interface PersonView {
  personId: string;
  email: string;
  role: AccountRole;
  /** Absent: every factory of the account. */
  factoryIds?: string[];
  status: PersonStatus;
  createdAt: string;
  createdBy: string;
}

/** What the authorizer makes a principal of. */
export interface SignedInPerson {
  accountId: string;
  personId: string;
  email: string;
  role: AccountRole;
  factoryIds?: string[];
}

export function toPersonView(item: Record<string, unknown>): PersonView {
  return {
    personId: item.personId as string,
    email: item.email as string,
    role: item.role as AccountRole,
    ...(Array.isArray(item.factoryIds) ? { factoryIds: item.factoryIds as string[] } : {}),
    status: item.status as PersonStatus,
    createdAt: item.createdAt as string,
    createdBy: item.createdBy as string,
  };
}

/** Every named factory must be the account's own: a scope naming another account's factory would be a silent no-op at best. */
export async function checkFactoriesExist(db: Db, accountId: string, factoryIds: string[] | undefined | null): Promise<void> {
  if (!factoryIds || factoryIds.length === 0) return;
  const found = await getItems(db, db.table, factoryIds.map((id) => keys.factory(accountId, id)), false);
  const issues = factoryIds.flatMap((id, index) => (found[index] ? [] : [{ path: `factoryIds.${index}`, message: `no factory ${id} in this account` }]));
  if (issues.length > 0) throw new UnknownReferenceError(issues);
}

export interface NewPerson {
  email: string;
  role: AccountRole;
  factoryIds?: string[];
  /** The user pool's `sub` of the user created for this person. */
  subject: string;
}

/** The person item and its sign-in item, in one transaction with the audit record. */
export async function createPerson(db: Db, accountId: string, input: NewPerson, actor: string): Promise<PersonView> {
  const at = nowIso();
  const personId = newId('per');
  const item = {
    ...keys.person(accountId, personId),
    type: 'person',
    accountId,
    personId,
    email: input.email,
    role: input.role,
    ...(input.factoryIds ? { factoryIds: input.factoryIds } : {}),
    status: 'active',
    subject: input.subject,
    createdAt: at,
    createdBy: actor,
  };
  const signIn = { ...keys.personSignIn(input.subject), type: 'personSignIn', accountId, personId };
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: db.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Put: { TableName: db.table, Item: signIn, ConditionExpression: 'attribute_not_exists(pk)' } },
          auditItem(db, { accountId, actor, action: 'person.create', targetType: 'person', targetId: personId, details: { email: input.email, role: input.role, factoryIds: input.factoryIds ?? null } }, at),
        ],
      }),
    );
  } catch (error) {
    if (cancelledConditions(error)?.[1]) throw new ConflictError('person_exists', 'This user already belongs to a Flashline account');
    throw error;
  }
  return toPersonView(item);
}

export async function getPerson(db: Db, accountId: string, personId: string, consistent = false): Promise<PersonView & { subject: string }> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.person(accountId, personId), ConsistentRead: consistent }));
  if (!Item) throw new NotFoundError('Person');
  return { ...toPersonView(Item), subject: Item.subject as string };
}

export function listPeople(db: Db, accountId: string, page: PageRequest) {
  return accountPage(db, accountId, SK_PREFIX.person, page, toPersonView);
}

export interface PersonChange {
  role?: AccountRole;
  /** null: every factory again. */
  factoryIds?: string[] | null;
  status?: PersonStatus;
}

/** One conditional update with its audit record; the caller has already told the user pool about a status change. */
export async function updatePerson(db: Db, accountId: string, personId: string, change: PersonChange, actor: string): Promise<PersonView> {
  const at = nowIso();
  const sets: string[] = [];
  const removes: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  if (change.role !== undefined) {
    sets.push('#role = :role');
    names['#role'] = 'role';
    values[':role'] = change.role;
  }
  if (change.status !== undefined) {
    sets.push('#status = :status');
    names['#status'] = 'status';
    values[':status'] = change.status;
  }
  if (change.factoryIds === null) removes.push('factoryIds');
  else if (change.factoryIds !== undefined) {
    sets.push('factoryIds = :factoryIds');
    values[':factoryIds'] = change.factoryIds;
  }
  const expression = [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : ''].filter(Boolean).join(' ');
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: db.table,
              Key: keys.person(accountId, personId),
              UpdateExpression: expression,
              ConditionExpression: 'attribute_exists(pk)',
              ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
              ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
            },
          },
          auditItem(db, { accountId, actor, action: 'person.update', targetType: 'person', targetId: personId, details: { ...change } }, at),
        ],
      }),
    );
  } catch (error) {
    if (cancelledConditions(error)?.[0]) throw new NotFoundError('Person');
    throw error;
  }
  return getPerson(db, accountId, personId, true);
}

/** Removes the person and the sign-in item at once: from then on the authorizer finds nobody for their tokens. */
export async function deletePerson(db: Db, accountId: string, personId: string, subject: string, actor: string): Promise<void> {
  const at = nowIso();
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: db.table, Key: keys.person(accountId, personId), ConditionExpression: 'attribute_exists(pk)' } },
          { Delete: { TableName: db.table, Key: keys.personSignIn(subject) } },
          auditItem(db, { accountId, actor, action: 'person.delete', targetType: 'person', targetId: personId }, at),
        ],
      }),
    );
  } catch (error) {
    if (cancelledConditions(error)?.[0]) throw new NotFoundError('Person');
    throw error;
  }
}

/**
 * The authorizer's look-up: the sign-in item names the account and person, the person item says
 * what they may do. Two strongly consistent reads, once per token per authorizer cache TTL.
 */
export async function findSignedInPerson(db: Db, subject: string): Promise<SignedInPerson | undefined> {
  const { Item: signIn } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.personSignIn(subject), ConsistentRead: true }));
  if (!signIn) return undefined;
  const accountId = signIn.accountId as string;
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.person(accountId, signIn.personId as string), ConsistentRead: true }));
  // A person disabled by an admin keeps a valid token until it expires; it stops opening anything here.
  if (!Item || Item.status !== 'active' || Item.subject !== subject) return undefined;
  const person = toPersonView(Item);
  return { accountId, personId: person.personId, email: person.email, role: person.role, ...(person.factoryIds ? { factoryIds: person.factoryIds } : {}) };
}
