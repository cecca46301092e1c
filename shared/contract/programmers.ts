import * as z from 'zod';
import { CredentialsFile } from './account.js';
import { Id, ListQuery, Name, Timestamp, listOf, trimmedText } from './common.js';
import { GroupIds } from './groups.js';
import { defineRoute } from './route.js';

const EncryptionKeyIds = z.array(trimmedText(128)).max(64);

export const Programmer = z
  .object({
    programmerId: Id,
    name: z.string(),
    hardwareSerial: z.string(),
    factoryId: Id,
    status: z.enum(['active', 'disabled']),
    encryptionKeyIds: z.array(z.string()),
    /** Groups of its factory it belongs to (programmer groups); jobs that target groups go only to their members. */
    groupIds: z.array(Id),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    lastSeenAt: Timestamp.nullable(),
  })
  .meta({ id: 'Programmer' });

const ProgrammerParams = z.object({ programmerId: Id });

export const provisionProgrammer = defineRoute({
  operationId: 'provisionProgrammer',
  method: 'POST',
  path: '/v1/programmers',
  summary: 'Provision a programmer; its credentials are returned once',
  access: { kind: 'account', minimumRole: 'admin' },
  body: z
    .object({
      name: Name,
      hardwareSerial: trimmedText(128),
      factoryId: Id.optional(),
      encryptionKeyIds: EncryptionKeyIds.optional(),
      /** Groups of the programmer's factory it joins at once (404 for a group that is not one of them). */
      groupIds: GroupIds.optional(),
    })
    .strict(),
  successStatus: 201,
  response: z.object({ programmer: Programmer, credentials: CredentialsFile }),
  idempotent: false,
});

export const listProgrammers = defineRoute({
  operationId: 'listProgrammers',
  method: 'GET',
  path: '/v1/programmers',
  summary: 'List programmers, optionally of one factory',
  access: { kind: 'account', minimumRole: 'viewer' },
  query: ListQuery.extend({ factoryId: Id.optional() }),
  successStatus: 200,
  response: listOf(Programmer),
  idempotent: true,
});

export const getProgrammer = defineRoute({
  operationId: 'getProgrammer',
  method: 'GET',
  path: '/v1/programmers/{programmerId}',
  summary: 'Read a programmer',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: ProgrammerParams,
  successStatus: 200,
  response: z.object({ programmer: Programmer }),
  idempotent: true,
});

export const updateProgrammer = defineRoute({
  operationId: 'updateProgrammer',
  method: 'PATCH',
  path: '/v1/programmers/{programmerId}',
  summary: 'Rename, move to another factory, disable/enable, update the loaded encryption key ids, or set its groups',
  description:
    '`groupIds` replaces its groups (of its factory, else 404); a move without it leaves the old groups. ' +
    'A change that raced another move of the same programmer is `409 concurrent_change`, nothing written: read it again and retry.',
  access: { kind: 'account', minimumRole: 'admin' },
  params: ProgrammerParams,
  body: z
    .object({
      name: Name.optional(),
      factoryId: Id.optional(),
      status: z.enum(['active', 'disabled']).optional(),
      encryptionKeyIds: EncryptionKeyIds.optional(),
      groupIds: GroupIds.optional(),
    })
    .strict()
    .refine((b) => Object.keys(b).length > 0, { message: 'at least one field is required' })
    // The same rule in the OpenAPI schema, so clients (and fuzzers) know `{}` is refused.
    .meta({ minProperties: 1 }),
  successStatus: 200,
  response: z.object({ programmer: Programmer }),
  errors: ['concurrent_change'],
  idempotent: true,
});

export const deprovisionProgrammer = defineRoute({
  operationId: 'deprovisionProgrammer',
  method: 'DELETE',
  path: '/v1/programmers/{programmerId}',
  summary: 'Deprovision a programmer; its credentials stop working within the authorizer cache TTL',
  access: { kind: 'account', minimumRole: 'admin' },
  params: ProgrammerParams,
  successStatus: 204,
  response: z.undefined(),
  idempotent: false,
});
