import * as z from 'zod';
import { FeedQuery, Id, Timestamp, feedOf } from './common.js';
import { defineRoute } from './route.js';

export const AuditRecord = z
  .object({
    auditId: Id,
    at: Timestamp,
    /** `key:{keyId}`, `person:{personId}`, `programmer:{programmerId}` or `platform-operator`. */
    actor: z.string(),
    action: z.string(),
    target: z.object({ type: z.string(), id: z.string() }),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditRecord' });

export const listAudit = defineRoute({
  operationId: 'listAudit',
  method: 'GET',
  path: '/v1/audit',
  summary: 'Who did what, when: newest first, or oldest first in arrival order from `since` or a `followCursor`',
  access: { kind: 'account', minimumRole: 'admin' },
  query: FeedQuery,
  successStatus: 200,
  // Newest-first browsing has no followCursor: only the oldest-first feed (from `since` or a followCursor) can be followed.
  response: feedOf(AuditRecord).extend({
    followCursor: z.string().optional().meta({ description: 'Only when reading oldest first (with `since` or a `followCursor`): pass it as `cursor` to get exactly the records that arrived since.' }),
  }),
  idempotent: true,
});
