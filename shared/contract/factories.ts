import * as z from 'zod';
import { Id, ListQuery, Name, Timestamp, listOf } from './common.js';
import { defineRoute } from './route.js';

export const Factory = z
  .object({
    factoryId: Id,
    name: z.string(),
    isDefault: z.boolean(),
    programmerCount: z.number().int(),
    openJobCount: z.number().int(),
    programmerOfflineMinutes: z.number().int().nullable().meta({ description: 'Minutes without a device call after which a programmer of this factory is reported offline (event `programmer.offline`, once per silence); null: never' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Factory' });

const FactoryParams = z.object({ factoryId: Id });
const FactoryBody = z.object({ name: Name }).strict();
/** One week at most: a programmer silent longer is reported then anyway. */
export const MAX_PROGRAMMER_OFFLINE_MINUTES = 10_080;
const UpdateFactoryBody = z
  .object({ name: Name.optional(), programmerOfflineMinutes: z.number().int().min(1).max(MAX_PROGRAMMER_OFFLINE_MINUTES).nullable().optional() })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'give name or programmerOfflineMinutes' })
  .meta({ minProperties: 1 });

export const listFactories = defineRoute({
  operationId: 'listFactories',
  method: 'GET',
  path: '/v1/factories',
  summary: 'List the Virtual Factories of the account',
  access: { kind: 'account', minimumRole: 'viewer' },
  query: ListQuery,
  successStatus: 200,
  response: listOf(Factory),
  idempotent: true,
});

export const createFactory = defineRoute({
  operationId: 'createFactory',
  method: 'POST',
  path: '/v1/factories',
  summary: 'Create a Virtual Factory',
  access: { kind: 'account', minimumRole: 'admin' },
  body: FactoryBody,
  successStatus: 201,
  response: z.object({ factory: Factory }),
  errors: ['name_taken'],
  idempotent: false,
});

export const getFactory = defineRoute({
  operationId: 'getFactory',
  method: 'GET',
  path: '/v1/factories/{factoryId}',
  summary: 'Read a Virtual Factory',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: FactoryParams,
  successStatus: 200,
  response: z.object({ factory: Factory }),
  idempotent: true,
});

export const renameFactory = defineRoute({
  operationId: 'renameFactory',
  method: 'PATCH',
  path: '/v1/factories/{factoryId}',
  summary: 'Rename a Virtual Factory and/or set when its programmers count as offline',
  access: { kind: 'account', minimumRole: 'admin' },
  params: FactoryParams,
  body: UpdateFactoryBody,
  successStatus: 200,
  response: z.object({ factory: Factory }),
  errors: ['name_taken', 'concurrent_change'],
  idempotent: true,
});

export const deleteFactory = defineRoute({
  operationId: 'deleteFactory',
  method: 'DELETE',
  path: '/v1/factories/{factoryId}',
  summary: 'Delete an empty Virtual Factory (not the default one)',
  description:
    'Empty: no programmers and no open jobs, else `409 factory_not_empty` with the counts. The factory’s programmer groups are deleted with it, in the same write (at most 45; more is `409 factory_not_empty` with `details.groupCount`), and named in the audit record’s `details.groupsDeleted`.',
  access: { kind: 'account', minimumRole: 'admin' },
  params: FactoryParams,
  successStatus: 204,
  response: z.undefined(),
  errors: ['factory_not_empty', 'default_factory'],
  idempotent: false,
});
