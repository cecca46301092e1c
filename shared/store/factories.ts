import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { auditItem } from './audit.js';
import { type Db, cancelledConditions, nowIso } from './db.js';
import { SK_PREFIX, keys } from './keys.js';
import { MAX_GROUPS_DELETED_WITH_FACTORY, groupsOfFactory } from './groups.js';
import { type PageRequest, accountPage } from './pages.js';
import { type FactoryScope, seesFactory } from '../domain/factory-scope.js';

export interface FactoryView {
  factoryId: string;
  name: string;
  isDefault: boolean;
  programmerCount: number;
  openJobCount: number;
  /** Minutes without a device call after which a programmer of this factory is reported offline (`programmer.offline`); null: never. */
  programmerOfflineMinutes: number | null;
  createdAt: string;
  updatedAt: string;
}

function toFactoryView(item: Record<string, unknown>): FactoryView {
  return {
    factoryId: item.factoryId as string,
    name: item.name as string,
    isDefault: item.isDefault === true,
    programmerCount: Number(item.programmerCount ?? 0),
    openJobCount: Number(item.openJobCount ?? 0),
    programmerOfflineMinutes: (item.programmerOfflineMinutes as number | undefined) ?? null,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}

/**
 * The transaction item that moves one of a factory's counters, for the transaction of the
 * change that moves it (a programmer provisioned, a job created). It fails when the factory is
 * gone, which is how a change into a missing (or another account's) factory becomes a 404.
 */
export function factoryCounterUpdate(
  db: Db,
  accountId: string,
  factoryId: string,
  counter: 'programmerCount' | 'openJobCount',
  delta: 1 | -1,
  at: string,
) {
  return {
    Update: {
      TableName: db.table,
      Key: keys.factory(accountId, factoryId),
      UpdateExpression: 'ADD #counter :delta SET updatedAt = :at',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#counter': counter },
      ExpressionAttributeValues: { ':delta': delta, ':at': at },
    },
  };
}

const nameTaken = (name: string) => new ConflictError('name_taken', `A factory named "${name}" already exists`, { name });

export async function getFactory(db: Db, accountId: string, factoryId: string, consistent = false): Promise<FactoryView> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.factory(accountId, factoryId), ConsistentRead: consistent }));
  if (!Item) throw new NotFoundError('Factory');
  return toFactoryView(Item);
}

/** A principal limited to factories lists only those. */
export function listFactories(db: Db, accountId: string, page: PageRequest, scope: FactoryScope = {}) {
  return accountPage(db, accountId, SK_PREFIX.factory, page, toFactoryView, scope.factoryIds ? (factory) => seesFactory(scope, factory.factoryId) : undefined);
}

export async function createFactory(db: Db, accountId: string, name: string, actor: string): Promise<FactoryView> {
  const at = nowIso();
  const factoryId = newId('fac');
  const item = { ...keys.factory(accountId, factoryId), type: 'factory', factoryId, name, isDefault: false, programmerCount: 0, openJobCount: 0, createdAt: at, updatedAt: at };
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: db.table, Item: { ...keys.factoryName(accountId, name), type: 'factoryName', factoryId }, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Put: { TableName: db.table, Item: item } },
          auditItem(db, { accountId, actor, action: 'factory.create', targetType: 'factory', targetId: factoryId, details: { name } }, at),
        ],
      }),
    );
  } catch (error) {
    if (cancelledConditions(error)?.[0]) throw nameTaken(name);
    throw error;
  }
  return toFactoryView(item);
}

export async function renameFactory(db: Db, accountId: string, factoryId: string, name: string, actor: string): Promise<FactoryView> {
  return updateFactory(db, accountId, factoryId, { name }, actor);
}

export interface FactoryChange {
  name?: string;
  /** null: stop watching for silent programmers. */
  programmerOfflineMinutes?: number | null;
}

/**
 * PATCH /v1/factories/{id}: a new name (its lock moves in the same transaction) and/or the
 * presence watch. A factory that watches is in the presence check's sparse index (keys.presenceIndex).
 */
export async function updateFactory(db: Db, accountId: string, factoryId: string, change: FactoryChange, actor: string): Promise<FactoryView> {
  const current = await getFactory(db, accountId, factoryId, true);
  const at = nowIso();
  const name = change.name ?? current.name;
  const sameLock = keys.factoryName(accountId, current.name).sk === keys.factoryName(accountId, name).sk;
  const sets = ['#name = :name', 'updatedAt = :at'];
  const values: Record<string, unknown> = { ':name': name, ':oldName': current.name, ':at': at };
  const removals: string[] = [];
  if (change.programmerOfflineMinutes === null) removals.push('programmerOfflineMinutes', 'gsi1pk', 'gsi1sk');
  if (typeof change.programmerOfflineMinutes === 'number') {
    const index = keys.presenceIndex(accountId, factoryId);
    sets.push('programmerOfflineMinutes = :minutes', 'gsi1pk = :presencePk', 'gsi1sk = :presenceSk');
    Object.assign(values, { ':minutes': change.programmerOfflineMinutes, ':presencePk': index.gsi1pk, ':presenceSk': index.gsi1sk });
  }
  const updateFactory = {
    Update: {
      TableName: db.table,
      Key: keys.factory(accountId, factoryId),
      UpdateExpression: `SET ${sets.join(', ')}${removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''}`,
      // Guards against a concurrent rename: the lock we release must still be ours.
      ConditionExpression: 'attribute_exists(pk) AND #name = :oldName',
      ExpressionAttributeNames: { '#name': 'name' },
      ExpressionAttributeValues: values,
    },
  };
  const details = { ...(change.name !== undefined && { from: current.name, to: name }), ...(change.programmerOfflineMinutes !== undefined && { programmerOfflineMinutes: change.programmerOfflineMinutes }) };
  const audit = auditItem(db, { accountId, actor, action: change.name !== undefined ? 'factory.rename' : 'factory.update', targetType: 'factory', targetId: factoryId, details }, at);
  const items = sameLock
    ? [updateFactory, audit]
    : [
        { Put: { TableName: db.table, Item: { ...keys.factoryName(accountId, name), type: 'factoryName', factoryId }, ConditionExpression: 'attribute_not_exists(pk)' } },
        { Delete: { TableName: db.table, Key: keys.factoryName(accountId, current.name) } },
        updateFactory,
        audit,
      ];
  try {
    await db.doc.send(new TransactWriteCommand({ TransactItems: items }));
  } catch (error) {
    const failed = cancelledConditions(error);
    if (failed && !sameLock && failed[0]) throw nameTaken(name);
    if (failed) throw new ConflictError('concurrent_change', 'The factory changed meanwhile; read it again and retry');
    throw error;
  }
  const programmerOfflineMinutes = change.programmerOfflineMinutes === undefined ? current.programmerOfflineMinutes : change.programmerOfflineMinutes;
  return { ...current, name, programmerOfflineMinutes, updatedAt: at };
}

/**
 * Deletes an empty factory (no programmers, no open jobs) and, in the same transaction, its
 * programmer groups: they are the factory's configuration, not its content, and would otherwise
 * outlive it unreachable. The transaction is conditioned on the groups' version read with them,
 * so a group created meanwhile makes it fail and decide again rather than stay behind.
 */
export async function deleteFactory(db: Db, accountId: string, factoryId: string, actor: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.factory(accountId, factoryId), ConsistentRead: true }));
    if (!Item) throw new NotFoundError('Factory');
    const current = toFactoryView(Item);
    if (current.isDefault) throw new ConflictError('default_factory', 'The default factory cannot be deleted');
    const { groups, deletes } = await groupsOfFactory(db, accountId, factoryId);
    if (groups.length > MAX_GROUPS_DELETED_WITH_FACTORY) {
      throw new ConflictError('factory_not_empty', `The factory has ${groups.length} programmer groups; delete all but ${MAX_GROUPS_DELETED_WITH_FACTORY} first`, { groupCount: groups.length });
    }
    const groupsVersion = Item.groupsVersion as number | undefined;
    try {
      await db.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: db.table,
                Key: keys.factory(accountId, factoryId),
                // Programmers and jobs move counters in their own transactions, groups the version;
                // checking them here makes "empty", "these groups" and "deleted" one atomic fact.
                ConditionExpression: `attribute_exists(pk) AND programmerCount = :zero AND openJobCount = :zero AND ${groupsVersion === undefined ? 'attribute_not_exists(groupsVersion)' : 'groupsVersion = :groupsVersion'}`,
                ExpressionAttributeValues: { ':zero': 0, ...(groupsVersion !== undefined && { ':groupsVersion': groupsVersion }) },
              },
            },
            { Delete: { TableName: db.table, Key: keys.factoryName(accountId, current.name) } },
            auditItem(db, { accountId, actor, action: 'factory.delete', targetType: 'factory', targetId: factoryId, details: { name: current.name, groupsDeleted: groups.map((group) => group.name) } }, nowIso()),
            ...deletes,
          ],
        }),
      );
      return;
    } catch (error) {
      if (!cancelledConditions(error)?.[0]) throw error;
      const after = await getFactory(db, accountId, factoryId, true);
      // Only a group created meanwhile: read the groups again (bounded: a group a round is a user's pace).
      if (after.programmerCount === 0 && after.openJobCount === 0 && attempt < 3) continue;
      throw new ConflictError('factory_not_empty', 'The factory still has programmers or jobs', {
        programmerCount: after.programmerCount,
        openJobCount: after.openJobCount,
      });
    }
  }
}
