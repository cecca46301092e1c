import * as z from 'zod';
import { Id, ListQuery, Name, Timestamp, listOf } from './common.js';
import { defineRoute } from './route.js';

export const AccountRoleSchema = z.enum(['admin', 'author', 'operator', 'viewer']);

/** What an admin downloads once and the CLI reads (`flashline --credentials FILE`). */
export const CredentialsFile = z
  .object({
    endpoint: z.string().url(),
    accountId: Id,
    keyId: Id,
    token: z.string(),
    role: z.enum(['admin', 'author', 'operator', 'viewer', 'programmer']),
    programmerId: Id.optional(),
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
    status: z.enum(['active', 'revoked']),
    createdAt: Timestamp,
    createdBy: z.string(),
    revokedAt: Timestamp.nullable(),
  })
  .meta({ id: 'ApiKey' });

const KeyParams = z.object({ keyId: Id });

/** Who is asking, as the API sees them: the console offers only what this role may do. */
export const Caller = z
  .object({
    via: z.enum(['key', 'person']),
    keyId: Id.optional(),
    personId: Id.optional(),
    email: z.string().optional(),
    role: AccountRoleSchema,
    factoryIds: z.array(Id).optional().meta({ description: 'Absent: every factory of the account' }),
  })
  .meta({ id: 'Caller' });
export type CallerType = z.infer<typeof Caller>;

export const getAccount = defineRoute({
  operationId: 'getAccount',
  method: 'GET',
  path: '/v1/account',
  summary: 'The account of the calling key or person, and who the caller is',
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
  body: z.object({ name: Name, role: AccountRoleSchema }).strict(),
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
