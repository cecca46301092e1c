import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { auditItem } from './audit.js';
import { type Db, cancelledConditions, getItems, isConditionFailure, nowIso } from './db.js';
import { withFaultRetry } from './faults.js';
import { SK_PREFIX, groupKeys, keys } from './keys.js';
import { type PageRequest, factoryPage } from './pages.js';

export interface GroupView {
  groupId: string;
  factoryId: string;
  name: string;
  createdAt: string;
}

function toGroupView(item: Record<string, unknown>): GroupView {
  return { groupId: item.groupId as string, factoryId: item.factoryId as string, name: item.name as string, createdAt: item.createdAt as string };
}

const nameTaken = (name: string) => new ConflictError('name_taken', `A group named "${name}" already exists in this factory`, { name });
const groupNotFound = (groupId: string) => new NotFoundError('Group', `Group ${groupId} not found in this factory`);

export async function createGroup(db: Db, accountId: string, factoryId: string, name: string, actor: string): Promise<GroupView> {
  const at = nowIso();
  const groupId = newId('grp');
  const item = {
    ...groupKeys.group(accountId, groupId),
    gsi1pk: keys.factoryIndex(accountId, factoryId),
    gsi1sk: groupKeys.group(accountId, groupId).sk,
    type: 'group',
    groupId,
    factoryId,
    name,
    createdAt: at,
  };
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          // The factory must exist, and its groups' version moves: a factory delete that read the
          // groups before this one was created fails its condition rather than leave it behind.
          {
            Update: {
              TableName: db.table,
              Key: keys.factory(accountId, factoryId),
              UpdateExpression: 'ADD groupsVersion :one',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':one': 1 },
            },
          },
          { Put: { TableName: db.table, Item: { ...groupKeys.groupName(accountId, factoryId, name), type: 'groupName', groupId }, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Put: { TableName: db.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
          auditItem(db, { accountId, actor, action: 'group.create', targetType: 'group', targetId: groupId, details: { name, factoryId } }, at),
        ],
      }),
    );
  } catch (error) {
    const failed = cancelledConditions(error);
    if (failed?.[0]) throw new NotFoundError('Factory');
    if (failed?.[1]) throw nameTaken(name);
    throw error;
  }
  return toGroupView(item);
}

export async function listGroups(db: Db, accountId: string, factoryId: string, page: PageRequest) {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.factory(accountId, factoryId) }));
  if (!Item) throw new NotFoundError('Factory');
  return factoryPage(db, accountId, factoryId, groupKeys.prefix, page, toGroupView);
}

/**
 * Refuses unknown groups before a write (404 naming the first), and returns the condition checks
 * that the same write carries: each group still exists in the factory and is not being deleted,
 * so a join or a target can never land on a group a concurrent delete found unused.
 */
export async function groupChecks(db: Db, accountId: string, factoryId: string, groupIds: readonly string[]) {
  const items = await getItems(db, db.table, groupIds.map((groupId) => groupKeys.group(accountId, groupId)), true);
  groupIds.forEach((groupId, i) => {
    const item = items[i];
    if (!item || item.factoryId !== factoryId || item.deleting !== undefined) throw groupNotFound(groupId);
  });
  return groupIds.map((groupId) => ({
    ConditionCheck: {
      TableName: db.table,
      Key: groupKeys.group(accountId, groupId),
      ConditionExpression: 'attribute_exists(pk) AND factoryId = :groupFactory AND attribute_not_exists(deleting)',
      ExpressionAttributeValues: { ':groupFactory': factoryId },
    },
  }));
}

/** Which group check of a cancelled transaction failed (checks placed from `offset` on): a concurrent delete took it. */
export function failedGroupCheck(error: unknown, offset: number, groupIds: readonly string[]): NotFoundError | undefined {
  const failed = cancelledConditions(error);
  const index = groupIds.findIndex((_, i) => failed?.[offset + i]);
  return index >= 0 ? groupNotFound(groupIds[index]!) : undefined;
}

const IN_USE_SAMPLE = 20;

/** Ids of the account's items of one kind whose list attribute names the group (consistent: the delete's check must see every committed join). */
async function usersOf(db: Db, accountId: string, prefix: string, attribute: string, groupId: string, idAttribute: string, extra = ''): Promise<string[]> {
  const items = await accountItems(
    db,
    accountId,
    prefix,
    {
      FilterExpression: `contains(#list, :group)${extra}`,
      ProjectionExpression: '#id',
      ExpressionAttributeNames: { '#list': attribute, '#id': idAttribute, ...(extra && { '#status': 'status' }) },
      ExpressionAttributeValues: { ':group': groupId, ...(extra && { ':deleted': 'deleted' }) },
    },
    IN_USE_SAMPLE,
  );
  return items.map((item) => item[idAttribute] as string).slice(0, IN_USE_SAMPLE);
}

/** Items of the account's partition under one key prefix that pass a filter, read strongly consistent, page after page (until `enough` are found). */
async function accountItems(
  db: Db,
  accountId: string,
  prefix: string,
  filter: { FilterExpression: string; ProjectionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues: Record<string, unknown> },
  enough = Number.POSITIVE_INFINITY,
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const output = await withFaultRetry(() =>
      db.doc.send(
        new QueryCommand({
          TableName: db.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ...filter,
          ExpressionAttributeValues: { ':pk': keys.accountPartition(accountId), ':prefix': prefix, ...filter.ExpressionAttributeValues },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    found.push(...(output.Items ?? []));
    startKey = output.LastEvaluatedKey;
  } while (startKey && found.length < enough);
  return found;
}

/**
 * Deletes a group nobody uses. The group is first marked `deleting`, which every join and target
 * write conditions on, then the account's programmers and jobs are read strongly consistent: a
 * join committed before the mark is seen here, one after it fails. In use: the mark goes and 409.
 */
export async function deleteGroup(db: Db, accountId: string, groupId: string, actor: string): Promise<void> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: groupKeys.group(accountId, groupId), ConsistentRead: true }));
  if (!Item) throw new NotFoundError('Group');
  const group = toGroupView(Item);
  const at = nowIso();
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: groupKeys.group(accountId, groupId),
        UpdateExpression: 'SET deleting = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  } catch (error) {
    if (isConditionFailure(error)) throw new NotFoundError('Group');
    throw error;
  }
  const [programmerIds, jobIds] = await Promise.all([
    usersOf(db, accountId, SK_PREFIX.programmer, 'groupIds', groupId, 'programmerId'),
    // Group ids have one length, so a substring of the comma-joined targets is a whole id.
    usersOf(db, accountId, SK_PREFIX.job, 'targetGroups', groupId, 'jobId', ' AND #status <> :deleted'),
  ]);
  if (programmerIds.length > 0 || jobIds.length > 0) {
    await db.doc.send(
      new UpdateCommand({ TableName: db.table, Key: groupKeys.group(accountId, groupId), UpdateExpression: 'REMOVE deleting', ConditionExpression: 'deleting = :at', ExpressionAttributeValues: { ':at': at } }),
    ).catch((error: unknown) => {
      // Another delete of the same group marked it after us: its own outcome decides.
      if (!isConditionFailure(error)) throw error;
    });
    throw new ConflictError('group_in_use', 'Programmers still belong to this group or jobs target it: take them out first', { programmerIds, jobIds });
  }
  await db.doc.send(
    new TransactWriteCommand({
      TransactItems: [
        { Delete: { TableName: db.table, Key: groupKeys.group(accountId, groupId) } },
        { Delete: { TableName: db.table, Key: groupKeys.groupName(accountId, group.factoryId, group.name) } },
        auditItem(db, { accountId, actor, action: 'group.delete', targetType: 'group', targetId: groupId, details: { name: group.name, factoryId: group.factoryId } }, at),
      ],
    }),
  );
}

/** The most groups a factory delete removes with the factory, in its one transaction (100 items, 2 a group). */
export const MAX_GROUPS_DELETED_WITH_FACTORY = 45;

/**
 * A factory's groups, read strongly consistent from the account's partition (the factory index
 * is eventually consistent, and a group created a moment ago must be seen), with the writes that
 * delete each one and its name lock.
 */
export async function groupsOfFactory(db: Db, accountId: string, factoryId: string): Promise<{ groups: GroupView[]; deletes: { Delete: { TableName: string; Key: { pk: string; sk: string } } }[] }> {
  const groups = (await accountItems(db, accountId, groupKeys.prefix, { FilterExpression: 'factoryId = :factoryId', ExpressionAttributeValues: { ':factoryId': factoryId } })).map(toGroupView);
  const deletes = groups.flatMap((group) => [
    { Delete: { TableName: db.table, Key: groupKeys.group(accountId, group.groupId) } },
    { Delete: { TableName: db.table, Key: groupKeys.groupName(accountId, factoryId, group.name) } },
  ]);
  return { groups, deletes };
}
