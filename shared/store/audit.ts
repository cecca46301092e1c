import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { newId } from '../domain/ids.js';
import { type Db, decodeCursor, encodeCursor } from './db.js';
import { type FeedQuery, feedPosition, readFeed } from './feed.js';
import { keys } from './keys.js';

/** Audit records are kept for 400 days, then DynamoDB's TTL removes them. */
export const AUDIT_RETENTION_DAYS = 400;

export interface AuditEntry {
  accountId: string;
  actor: string;
  action: string;
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

/**
 * Newest first for browsing; oldest first, in arrival order, from `since` or from a feed cursor
 * (feed.ts): the way to follow the trail. Records are stamped by the writing container's clock
 * as part of the change's own transaction.
 */
export async function listAudit(db: Db, accountId: string, options: FeedQuery): Promise<{ items: AuditRecord[]; nextCursor: string | null; followCursor?: string }> {
  const pk = keys.auditPartition(accountId);
  // A cursor decides the mode (`since` is ignored with one, as the contract says): a browsing
  // page's cursor with `since` beside it keeps browsing.
  const following = options.cursor === undefined ? options.since !== undefined : feedPosition(options.cursor) !== undefined;
  if (following) {
    return readFeed(db, { table: db.events, partitionKey: 'pk', partitionValue: pk, sortKey: 'sk', startKey: (sk) => ({ pk, sk }) }, options, toAuditRecord);
  }
  const start = decodeCursor(options.cursor, '');
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
  return { items: (output.Items ?? []).map(toAuditRecord), nextCursor: encodeCursor(output.LastEvaluatedKey) };
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
