import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { formatToken, hashSecret, newSecret } from '../domain/tokens.js';
import { getAccount } from './accounts.js';
import { auditItem } from './audit.js';
import { factoryCounterUpdate } from './factories.js';
import { failedGroupCheck, groupChecks } from './groups.js';
import { type Db, cancelledConditions, isConditionFailure, nowIso } from './db.js';
import { SK_PREFIX, keys } from './keys.js';
import { type PageRequest, accountPage, factoryPage } from './pages.js';
import { type FactoryScope, seesFactory } from '../domain/factory-scope.js';

export interface ProgrammerView {
  programmerId: string;
  name: string;
  hardwareSerial: string;
  factoryId: string;
  status: 'active' | 'disabled';
  encryptionKeyIds: string[];
  groupIds: string[];
  createdAt: string;
  updatedAt: string;
  lastSeenAt: string | null;
}

export function toProgrammerView(item: Record<string, unknown>): ProgrammerView {
  return {
    programmerId: item.programmerId as string,
    name: item.name as string,
    hardwareSerial: item.hardwareSerial as string,
    factoryId: item.factoryId as string,
    status: item.status as 'active' | 'disabled',
    encryptionKeyIds: (item.encryptionKeyIds as string[] | undefined) ?? [],
    groupIds: (item.groupIds as string[] | undefined) ?? [],
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    lastSeenAt: (item.lastSeenAt as string | undefined) ?? null,
  };
}


export async function getProgrammer(db: Db, accountId: string, programmerId: string, consistent = false): Promise<ProgrammerView> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.programmer(accountId, programmerId), ConsistentRead: consistent }));
  if (!Item) throw new NotFoundError('Programmer');
  return toProgrammerView(Item);
}

export async function provisionProgrammer(
  db: Db,
  accountId: string,
  input: { name: string; hardwareSerial: string; factoryId?: string; encryptionKeyIds?: string[]; groupIds?: string[] },
  actor: string,
): Promise<{ programmer: ProgrammerView; token: string }> {
  const factoryId = input.factoryId ?? (await getAccount(db, accountId)).defaultFactoryId;
  const groupIds = input.groupIds ?? [];
  const checks = await groupChecks(db, accountId, factoryId, groupIds);
  const at = nowIso();
  const programmerId = newId('prg');
  const secret = newSecret();
  const item = {
    ...keys.programmer(accountId, programmerId),
    gsi1pk: keys.factoryIndex(accountId, factoryId),
    gsi1sk: keys.programmerIndexSk(programmerId),
    type: 'programmer',
    programmerId,
    name: input.name,
    hardwareSerial: input.hardwareSerial,
    factoryId,
    status: 'active',
    encryptionKeyIds: [...new Set(input.encryptionKeyIds ?? [])],
    ...(groupIds.length > 0 && { groupIds }),
    secretHash: hashSecret(secret),
    createdAt: at,
    updatedAt: at,
  };
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: db.table, Item: item } },
          factoryCounterUpdate(db, accountId, factoryId, 'programmerCount', 1, at),
          auditItem(db, { accountId, actor, action: 'programmer.provision', targetType: 'programmer', targetId: programmerId, details: { name: input.name, factoryId, ...(groupIds.length > 0 && { groupIds }) } }, at),
          ...checks,
        ],
      }),
    );
  } catch (error) {
    if (cancelledConditions(error)?.[1]) throw new NotFoundError('Factory');
    throw failedGroupCheck(error, 3, groupIds) ?? error;
  }
  return { programmer: toProgrammerView(item), token: formatToken('programmer', accountId, programmerId, secret) };
}

/** A principal limited to factories lists only theirs (a `factoryId` outside them never gets here: the handler chain answers 404). */
export async function listProgrammers(db: Db, accountId: string, page: PageRequest & { factoryId?: string }, scope: FactoryScope = {}) {
  if (!page.factoryId) return accountPage(db, accountId, SK_PREFIX.programmer, page, toProgrammerView, scope.factoryIds ? (programmer) => seesFactory(scope, programmer.factoryId) : undefined);
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.factory(accountId, page.factoryId) }));
  if (!Item) throw new NotFoundError('Factory');
  return factoryPage(db, accountId, page.factoryId, SK_PREFIX.programmer, page, toProgrammerView);
}

export async function updateProgrammer(
  db: Db,
  accountId: string,
  programmerId: string,
  changes: { name?: string; factoryId?: string; status?: 'active' | 'disabled'; encryptionKeyIds?: string[]; groupIds?: string[] },
  actor: string,
): Promise<ProgrammerView> {
  const current = await getProgrammer(db, accountId, programmerId, true);
  const at = nowIso();
  const moving = changes.factoryId !== undefined && changes.factoryId !== current.factoryId;
  // Groups belong to a factory: a move leaves the old factory's, unless the request names the new one's.
  const groupIds = changes.groupIds ?? (moving ? [] : current.groupIds);
  const checks = changes.groupIds ? await groupChecks(db, accountId, changes.factoryId ?? current.factoryId, changes.groupIds) : [];
  const next: ProgrammerView = {
    ...current,
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.status !== undefined && { status: changes.status }),
    ...(changes.encryptionKeyIds !== undefined && { encryptionKeyIds: [...new Set(changes.encryptionKeyIds)] }),
    ...(moving && { factoryId: changes.factoryId }),
    groupIds,
    updatedAt: at,
  };
  // Only what this request changes is written: two admins changing different things at once
  // (one disabling a stolen device, one renaming it) must not write back each other's reads.
  const changed: Record<string, unknown> = {
    ...(changes.name !== undefined && { name: next.name }),
    ...(changes.status !== undefined && { status: next.status }),
    ...(changes.encryptionKeyIds !== undefined && { encryptionKeyIds: next.encryptionKeyIds }),
    ...((changes.groupIds !== undefined || moving) && { groupIds: next.groupIds }),
    ...(moving && { factoryId: next.factoryId, gsi1pk: keys.factoryIndex(accountId, next.factoryId) }),
    updatedAt: at,
  };
  const attributes = Object.keys(changed);
  const update = {
    Update: {
      TableName: db.table,
      Key: keys.programmer(accountId, programmerId),
      UpdateExpression: `SET ${attributes.map((_, i) => `#a${i} = :a${i}`).join(', ')}`,
      // The factory we read is the one whose counter we move: a concurrent move fails here.
      ConditionExpression: 'attribute_exists(pk) AND #readFactory = :readFactory',
      ExpressionAttributeNames: { ...Object.fromEntries(attributes.map((attribute, i) => [`#a${i}`, attribute])), '#readFactory': 'factoryId' },
      ExpressionAttributeValues: { ...Object.fromEntries(attributes.map((attribute, i) => [`:a${i}`, changed[attribute]])), ':readFactory': current.factoryId },
    },
  };
  const audit = auditItem(db, { accountId, actor, action: 'programmer.update', targetType: 'programmer', targetId: programmerId, details: { ...changes } }, at);
  const items = moving
    ? [update, factoryCounterUpdate(db, accountId, current.factoryId, 'programmerCount', -1, at), factoryCounterUpdate(db, accountId, next.factoryId, 'programmerCount', 1, at), audit]
    : [update, audit];
  try {
    await db.doc.send(new TransactWriteCommand({ TransactItems: [...items, ...checks] }));
  } catch (error) {
    const failed = cancelledConditions(error);
    if (moving && failed?.[2]) throw new NotFoundError('Factory');
    if (failed?.[0]) throw new ConflictError('concurrent_change', 'The programmer changed meanwhile; read it again and retry');
    throw failedGroupCheck(error, items.length, changes.groupIds ?? []) ?? error;
  }
  return next;
}

export async function deprovisionProgrammer(db: Db, accountId: string, programmerId: string, actor: string): Promise<void> {
  const current = await getProgrammer(db, accountId, programmerId, true);
  const at = nowIso();
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Delete: {
              TableName: db.table,
              Key: keys.programmer(accountId, programmerId),
              ConditionExpression: 'attribute_exists(pk) AND factoryId = :factoryId',
              ExpressionAttributeValues: { ':factoryId': current.factoryId },
            },
          },
          factoryCounterUpdate(db, accountId, current.factoryId, 'programmerCount', -1, at),
          auditItem(db, { accountId, actor, action: 'programmer.deprovision', targetType: 'programmer', targetId: programmerId, details: { name: current.name } }, at),
        ],
      }),
    );
  } catch (error) {
    if (cancelledConditions(error)?.[0]) throw new NotFoundError('Programmer');
    throw error;
  }
}

/**
 * Records that a programmer called the device API. Throttled to one write a minute per
 * programmer by the condition, so the hot path pays at most one cheap conditional update.
 */
export async function touchProgrammerLastSeen(db: Db, accountId: string, programmerId: string, at = nowIso()): Promise<void> {
  const staleBefore = new Date(Date.parse(at) - 60_000).toISOString();
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.programmer(accountId, programmerId),
        UpdateExpression: 'SET lastSeenAt = :at',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lastSeenAt) OR lastSeenAt < :stale)',
        ExpressionAttributeValues: { ':at': at, ':stale': staleBefore },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}
