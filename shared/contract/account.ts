import * as z from 'zod';
import { Id, ListQuery, Name, Timestamp, distinctItems, listOf } from './common.js';
import { ACCOUNT_ROLES, defineRoute } from './route.js';

export const AccountRoleSchema = z.enum(ACCOUNT_ROLES);

/** Factories a key or person is limited to; absent means every factory of the account. */
export const FactoryScope = distinctItems(z.array(Id).min(1).max(50), 'factory ids must be unique').meta({ description: 'The factories this principal is limited to (1–50, unique). Absent: every factory of the account. Never with role admin, which is account-wide.' });

/** What an admin downloads once and the CLI reads (`flashline --credentials FILE`). */
export const CredentialsFile = z
  .object({
    endpoint: z.string().url(),
    accountId: Id,
    keyId: Id,
    token: z.string(),
    role: z.enum([...ACCOUNT_ROLES, 'programmer']),
    programmerId: Id.optional(),
    factoryIds: z.array(Id).optional(),
  })
  .meta({ id: 'CredentialsFile' });
export type CredentialsFileType = z.infer<typeof CredentialsFile>;

export const Account = z
  .object({ accountId: Id, name: z.string(), defaultFactoryId: Id, createdAt: Timestamp })
  .meta({ id: 'Account' });

export const ApiKey = z
  .object({
    keyId: Id,
    name: z.string(),
    role: AccountRoleSchema,
    factoryIds: z.array(Id).optional().meta({ description: 'The factories this key is limited to; absent: every factory.' }),
    status: z.enum(['active', 'revoked']),
    createdAt: Timestamp,
    createdBy: z.string(),
    revokedAt: Timestamp.nullable(),
  })
  .meta({ id: 'ApiKey' });

const KeyParams = z.object({ keyId: Id });

/**
 * Who is calling, so a client (the console) offers only what this caller may do. A key names
 * itself; a person signed in to the console names the person.
 */
export const Caller = z
  .object({
    via: z.enum(['key', 'person']),
    keyId: Id.optional(),
    personId: Id.optional(),
    email: z.string().optional(),
    role: AccountRoleSchema,
    factoryIds: z.array(Id).optional().meta({ description: 'The factories the caller is limited to; absent: every factory.' }),
  })
  .meta({ id: 'Caller' });
export type CallerType = z.infer<typeof Caller>;

/**
 * The admin rule in the document's words (JSON Schema if/then), beside the refinement that
 * validates it: with role admin, `factoryIds` is absent (`null` too where the body may clear it).
 */
export function adminTakesNoFactories(clearable: boolean) {
  return {
    if: { properties: { role: { const: 'admin' } }, required: ['role'] },
    then: clearable ? { properties: { factoryIds: { type: 'null' } } } : { not: { required: ['factoryIds'] } },
  };
}

/** `{name, role, factoryIds?}`; an admin key is account-wide, so it takes no factoryIds. */
export const CreateApiKeyBody = z
  .object({ name: Name, role: AccountRoleSchema, factoryIds: FactoryScope.optional() })
  .strict()
  .refine((body) => !(body.role === 'admin' && body.factoryIds), { message: 'an admin key is account-wide: leave factoryIds out or choose another role', path: ['factoryIds'] })
  .meta(adminTakesNoFactories(false));

export const getAccount = defineRoute({
  operationId: 'getAccount',
  method: 'GET',
  path: '/v1/account',
  summary: 'The account of the caller, and who the caller is (role, factories)',
  access: { kind: 'account', minimumRole: 'viewer' },
  successStatus: 200,
  response: z.object({ account: Account, caller: Caller }),
  idempotent: true,
});

export const createApiKey = defineRoute({
  operationId: 'createApiKey',
  method: 'POST',
  path: '/v1/api-keys',
  summary: 'Create an API key; its token is in the returned credentials file and shown only once',
  access: { kind: 'account', minimumRole: 'admin' },
  description: 'A key limited to factories (`factoryIds`) sees nothing of the others: their objects answer 404 and lists leave them out. Every id must name a factory of the account.',
  body: CreateApiKeyBody,
  successStatus: 201,
  response: z.object({ keyId: Id, apiKey: ApiKey, credentials: CredentialsFile }),
  idempotent: false,
});

export const listApiKeys = defineRoute({
  operationId: 'listApiKeys',
  method: 'GET',
  path: '/v1/api-keys',
  summary: 'List the API keys of the account (never their tokens)',
  access: { kind: 'account', minimumRole: 'admin' },
  query: ListQuery,
  successStatus: 200,
  response: listOf(ApiKey),
  idempotent: true,
});

export const revokeApiKey = defineRoute({
  operationId: 'revokeApiKey',
  method: 'DELETE',
  path: '/v1/api-keys/{keyId}',
  summary: 'Revoke an API key; it stops working within the authorizer cache TTL',
  access: { kind: 'account', minimumRole: 'admin' },
  params: KeyParams,
  successStatus: 200,
  response: z.object({ apiKey: ApiKey }),
  errors: ['already_revoked', 'key_in_use'],
  idempotent: true,
});
