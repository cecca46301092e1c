import { type AuditAction, type AuditFilter, isAuditFilterActive, matchesAudit } from '../domain/audit.js';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { newId } from '../domain/ids.js';
import { invalidCursor } from './cursors.js';
import type { Db } from './db.js';
import { type FeedQuery, isFeedCursor, readFeed } from './feed.js';
import { keys } from './keys.js';

/** Audit records are kept for 400 days, then DynamoDB's TTL removes them. */
export const AUDIT_RETENTION_DAYS = 400;

export interface AuditEntry {
  accountId: string;
  actor: string;
  action: AuditAction;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
}

export interface AuditRecord {
  auditId: string;
  at: string;
  actor: string;
  action: string;
  target: { type: string; id: string };
  details: Record<string, unknown>;
}

/**
 * The audit record of a change, as one item of the change's own transaction: a change is never
 * stored without its record, nor the record without the change.
 */
export function auditItem(db: Db, entry: AuditEntry, at: string) {
  const auditId = newId('aud');
  return {
    Put: {
      TableName: db.events,
      Item: {
        ...keys.audit(entry.accountId, at, auditId),
        type: 'audit',
        auditId,
        at,
        actor: entry.actor,
        action: entry.action,
        targetType: entry.targetType,
        targetId: entry.targetId,
        details: entry.details ?? {},
        expiresAt: Math.floor(Date.parse(at) / 1000) + AUDIT_RETENTION_DAYS * 86_400,
      },
    },
  };
}

/** An audit record's sort key (keys.audit): its time, then its id. */
const AUDIT_SORT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[A-Za-z0-9_-]{1,64}$/;

type AuditPage = { items: AuditRecord[]; nextCursor: string | null; followCursor?: string };

/** How many pages one filtered request reads at most before it answers what it found (and the cursor on). */
export const MAX_PAGES_PER_FILTERED_READ = 10;

/**
 * The trail, narrowed by `filter` when one is given: pages are read on (each asking for what is
 * still missing, so a page never holds more than `limit`) until `limit` records matched, the
 * trail ends, or MAX_PAGES_PER_FILTERED_READ pages were read; the cursors are those of the last
 * page read, so a client passes them on to search further, or to follow, as without a filter.
 */
export async function listAudit(db: Db, accountId: string, options: FeedQuery & AuditFilter): Promise<AuditPage> {
  const { actor, action, target, ...query } = options;
  const filter = { actor, action, target };
  if (!isAuditFilterActive(filter)) return readAuditPage(db, accountId, query);
  const items: AuditRecord[] = [];
  let page: AuditPage | undefined;
  for (let read = 0; read < MAX_PAGES_PER_FILTERED_READ && items.length < query.limit; read += 1) {
    const cursor = page ? page.nextCursor : query.cursor;
    if (page && cursor === null) break;
    page = await readAuditPage(db, accountId, { ...query, cursor: cursor ?? undefined, limit: query.limit - items.length });
    items.push(...page.items.filter((record) => matchesAudit(record, filter)));
  }
  return { ...page!, items };
}

/**
 * Newest first for browsing; oldest first, in arrival order, from `since` or from a feed cursor
 * (feed.ts): the way to follow the trail. Records are stamped by the writing container's clock
 * as part of the change's own transaction.
 */
async function readAuditPage(db: Db, accountId: string, options: FeedQuery): Promise<AuditPage> {
  const pk = keys.auditPartition(accountId);
  if ((options.since && options.cursor === undefined) || (await isFeedCursor(db, pk, options.cursor))) {
    return readFeed(db, { table: db.events, partitionKey: 'pk', partitionValue: pk, sortKey: 'sk', startKey: (sk) => ({ pk, sk }) }, options, toAuditRecord);
  }
  const start = await db.cursors.open(pk, options.cursor);
  if (start !== undefined && !AUDIT_SORT_KEY.test(start)) throw invalidCursor();
  const output = await db.doc.send(
    new QueryCommand({
      TableName: db.events,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      Limit: options.limit,
      ScanIndexForward: false,
      ...(start && { ExclusiveStartKey: { pk, sk: start } }),
    }),
  );
  const last = output.LastEvaluatedKey?.sk;
  return { items: (output.Items ?? []).map(toAuditRecord), nextCursor: typeof last === 'string' ? await db.cursors.seal(pk, last) : null };
}

function toAuditRecord(item: Record<string, unknown>): AuditRecord {
  return {
    auditId: item.auditId as string,
    at: item.at as string,
    actor: item.actor as string,
    action: item.action as string,
    target: { type: item.targetType as string, id: item.targetId as string },
    details: (item.details as Record<string, unknown>) ?? {},
  };
}
