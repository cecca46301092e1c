import * as z from 'zod';
import { Id, ListQuery, Name, Timestamp, distinctItems, listOf } from './common.js';
import { defineRoute } from './route.js';

/**
 * Programmer groups (PEcloud's Cyclone groups): a factory's programmers sorted into groups, so
 * a job can be aimed at some of them (`PATCH /v1/jobs/{jobId}` `{ targetGroupIds }`).
 */
export const ProgrammerGroup = z
  .object({
    groupId: Id,
    factoryId: Id,
    name: z.string(),
    createdAt: Timestamp,
  })
  .meta({ id: 'ProgrammerGroup' });

/** A programmer joins few groups and a job targets few: the lists travel in every device read. */
export const MAX_GROUPS_PER_LIST = 20;
export const GroupIds = distinctItems(z.array(Id).max(MAX_GROUPS_PER_LIST), 'group ids must be unique');

const FactoryParams = z.object({ factoryId: Id });

export const createGroup = defineRoute({
  operationId: 'createGroup',
  method: 'POST',
  path: '/v1/factories/{factoryId}/groups',
  summary: 'Create a programmer group in a factory (names unique per factory, any case)',
  access: { kind: 'account', minimumRole: 'admin' },
  params: FactoryParams,
  body: z.object({ name: Name }).strict(),
  successStatus: 201,
  response: z.object({ group: ProgrammerGroup }),
  errors: ['name_taken'],
  idempotent: false,
});

export const listGroups = defineRoute({
  operationId: 'listGroups',
  method: 'GET',
  path: '/v1/factories/{factoryId}/groups',
  summary: 'List the programmer groups of a factory',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: FactoryParams,
  query: ListQuery,
  successStatus: 200,
  response: listOf(ProgrammerGroup),
  idempotent: true,
});

export const deleteGroup = defineRoute({
  operationId: 'deleteGroup',
  method: 'DELETE',
  path: '/v1/groups/{groupId}',
  summary: 'Delete a programmer group that no programmer belongs to and no job targets',
  description: 'In use: `409 group_in_use` with `details: { programmerIds, jobIds }` (up to 20 each).',
  access: { kind: 'account', minimumRole: 'admin' },
  params: z.object({ groupId: Id }),
  successStatus: 204,
  response: z.undefined(),
  errors: ['group_in_use'],
  idempotent: false,
});
