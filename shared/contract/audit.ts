import * as z from 'zod';
import { AUDIT_ACTIONS } from '../domain/audit.js';
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

/** The trail's own filters beside the feed's `since`, `cursor` and `limit`. */
export const AuditQuery = FeedQuery.extend({
  actor: z.string().min(1).max(200).optional().meta({ description: 'Only records whose actor contains this text, any case: `key:key_…`, `person:`, `programmer:prg_…`.' }),
  action: z.enum(AUDIT_ACTIONS).optional().meta({ description: 'Only records of this action.' }),
  target: z.string().min(1).max(200).optional().meta({ description: "Only records whose target's type or id, or a value of whose details, contains this text, any case: `job`, `job_…`, a factory's name." }),
});

export const listAudit = defineRoute({
  operationId: 'listAudit',
  method: 'GET',
  path: '/v1/audit',
  summary: 'Who did what, when: newest first, or oldest first in arrival order from `since` or a `followCursor`',
  description:
    'With `actor`, `action` or `target`, the cloud filters: a page holds the matching records among the next ones it reads (up to ' +
    '10 × `limit`), so it may hold fewer than `limit`, even none, while `nextCursor` is not null; pass the cursor on to search further.',
  access: { kind: 'account', minimumRole: 'admin' },
  query: AuditQuery,
  successStatus: 200,
  // Newest-first browsing has no followCursor: only the oldest-first feed (from `since` or a followCursor) can be followed.
  response: feedOf(AuditRecord).extend({
    followCursor: z.string().optional().meta({ description: 'Only when reading oldest first (with `since` or a `followCursor`): pass it as `cursor` to get exactly the records that arrived since.' }),
  }),
  idempotent: true,
});
