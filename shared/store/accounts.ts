import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { AccountRole } from '../contract/route.js';
import { ConflictError, NotFoundError, UnknownReferenceError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { formatToken, hashSecret, newSecret } from '../domain/tokens.js';
import { auditItem } from './audit.js';
import { type Db, cancelledConditions, nowIso } from './db.js';
import { SK_PREFIX, keys } from './keys.js';
import { type PageRequest, accountPage } from './pages.js';

export const DEFAULT_FACTORY_NAME = 'My Default Factory';

export interface AccountView {
  accountId: string;
  name: string;
  defaultFactoryId: string;
  createdAt: string;
}

export interface ApiKeyView {
  keyId: string;
  name: string;
  role: AccountRole;
  /** Absent: every factory of the account. */
  factoryIds?: string[];
  status: 'active' | 'revoked';
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
}

export interface IssuedKey {
  apiKey: ApiKeyView;
  token: string;
}

function apiKeyItem(db: Db, accountId: string, input: { name: string; role: AccountRole; factoryIds?: string[] }, createdBy: string, at: string) {
  const keyId = newId('key');
  const secret = newSecret();
  const item = {
    ...keys.apiKey(accountId, keyId),
    type: 'apiKey',
    accountId,
    keyId,
    name: input.name,
    role: input.role,
    ...(input.factoryIds ? { factoryIds: input.factoryIds } : {}),
    status: 'active',
    secretHash: hashSecret(secret),
    createdAt: at,
    createdBy,
  };
  return { keyId, item, token: formatToken('key', accountId, keyId, secret), put: { Put: { TableName: db.table, Item: item } } };
}

export function toApiKeyView(item: Record<string, unknown>): ApiKeyView {
  return {
    keyId: item.keyId as string,
    name: item.name as string,
    role: item.role as AccountRole,
    ...(Array.isArray(item.factoryIds) ? { factoryIds: item.factoryIds as string[] } : {}),
    status: item.status as 'active' | 'revoked',
    createdAt: item.createdAt as string,
    createdBy: item.createdBy as string,
    revokedAt: (item.revokedAt as string | undefined) ?? null,
  };
}

/** Account, its default factory and a first admin key, in one transaction (platform operator only). */
export async function createAccount(db: Db, name: string): Promise<{ account: AccountView; admin: IssuedKey }> {
  const at = nowIso();
  const accountId = newId('acc');
  const factoryId = newId('fac');
  const admin = apiKeyItem(db, accountId, { name: 'First admin key', role: 'admin' }, 'platform-operator', at);
  const account = { accountId, name, defaultFactoryId: factoryId, createdAt: at };
  await db.doc.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: db.table, Item: { ...keys.account(accountId), type: 'account', ...account }, ConditionExpression: 'attribute_not_exists(pk)' } },
        {
          Put: {
            TableName: db.table,
            Item: {
              ...keys.factory(accountId, factoryId),
              type: 'factory',
              factoryId,
              name: DEFAULT_FACTORY_NAME,
              isDefault: true,
              programmerCount: 0,
              openJobCount: 0,
              createdAt: at,
              updatedAt: at,
            },
          },
        },
        { Put: { TableName: db.table, Item: { ...keys.factoryName(accountId, DEFAULT_FACTORY_NAME), type: 'factoryName', factoryId } } },
        admin.put,
        auditItem(db, { accountId, actor: 'platform-operator', action: 'account.create', targetType: 'account', targetId: accountId, details: { name } }, at),
      ],
    }),
  );
  return { account, admin: { apiKey: toApiKeyView(admin.item), token: admin.token } };
}

export async function getAccount(db: Db, accountId: string): Promise<AccountView> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.account(accountId) }));
  if (!Item) throw new NotFoundError('Account');
  return { accountId: Item.accountId, name: Item.name, defaultFactoryId: Item.defaultFactoryId, createdAt: Item.createdAt };
}

/**
 * A key limited to factories names only factories of the account: each is checked in the same
 * transaction, so a factory deleted meanwhile cannot slip in (a key naming a factory deleted
 * later simply sees nothing of it).
 */
export async function createApiKey(db: Db, accountId: string, input: { name: string; role: AccountRole; factoryIds?: string[] }, actor: string): Promise<IssuedKey> {
  const at = nowIso();
  const issued = apiKeyItem(db, accountId, input, actor, at);
  const factoryIds = input.factoryIds ?? [];
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          ...factoryIds.map((factoryId) => ({ ConditionCheck: { TableName: db.table, Key: keys.factory(accountId, factoryId), ConditionExpression: 'attribute_exists(pk)' } })),
          issued.put,
          auditItem(
            db,
            { accountId, actor, action: 'apiKey.create', targetType: 'apiKey', targetId: issued.keyId, details: { name: input.name, role: input.role, ...(input.factoryIds ? { factoryIds: input.factoryIds } : {}) } },
            at,
          ),
        ],
      }),
    );
  } catch (error) {
    const failed = cancelledConditions(error);
    const missing = factoryIds.filter((_id, i) => failed?.[i]);
    if (missing.length > 0) {
      throw new UnknownReferenceError(missing.map((id) => ({ path: `factoryIds.${factoryIds.indexOf(id)}`, message: `no factory ${id} in this account` })));
    }
    throw error;
  }
  return { apiKey: toApiKeyView(issued.item), token: issued.token };
}

export function listApiKeys(db: Db, accountId: string, page: PageRequest) {
  return accountPage(db, accountId, SK_PREFIX.apiKey, page, toApiKeyView);
}

export async function revokeApiKey(db: Db, accountId: string, keyId: string, actor: string): Promise<ApiKeyView> {
  const at = nowIso();
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: db.table,
              Key: keys.apiKey(accountId, keyId),
              UpdateExpression: 'SET #status = :revoked, revokedAt = :at',
              ConditionExpression: 'attribute_exists(pk) AND #status = :active',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':revoked': 'revoked', ':active': 'active', ':at': at },
            },
          },
          auditItem(db, { accountId, actor, action: 'apiKey.revoke', targetType: 'apiKey', targetId: keyId }, at),
        ],
      }),
    );
  } catch (error) {
    // Only the key's own condition says "missing or not active"; any other cancellation is not ours to explain.
    if (cancelledConditions(error)?.[0]) {
      const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.apiKey(accountId, keyId) }));
      if (!Item) throw new NotFoundError('API key');
      throw new ConflictError('already_revoked', 'This API key is already revoked');
    }
    throw error;
  }
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.apiKey(accountId, keyId), ConsistentRead: true }));
  if (!Item) throw new NotFoundError('API key');
  return toApiKeyView(Item);
}

/** What the authorizer needs of a credential: one strongly consistent read. */
export async function getCredential(
  db: Db,
  kind: 'key' | 'programmer',
  accountId: string,
  credentialId: string,
): Promise<{ secretHash: string; status: string; role?: AccountRole; factoryIds?: string[]; programmerId?: string } | undefined> {
  const key = kind === 'key' ? keys.apiKey(accountId, credentialId) : keys.programmer(accountId, credentialId);
  const { Item } = await db.doc.send(
    new GetCommand({ TableName: db.table, Key: key, ConsistentRead: true, ProjectionExpression: 'secretHash, #status, #role, factoryIds, programmerId', ExpressionAttributeNames: { '#status': 'status', '#role': 'role' } }),
  );
  if (!Item || typeof Item.secretHash !== 'string') return undefined;
  return { secretHash: Item.secretHash, status: Item.status, role: Item.role, programmerId: Item.programmerId, ...(Array.isArray(Item.factoryIds) ? { factoryIds: Item.factoryIds } : {}) };
}

