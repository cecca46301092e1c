import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { newId } from '../domain/ids.js';
import { type Db, decodeCursor, encodeCursor } from './db.js';
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

export async function listAudit(
  db: Db,
  accountId: string,
  options: { since?: string; limit: number; cursor?: string },
): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
  const start = decodeCursor(options.cursor, '');
  const output = await db.doc.send(
    new QueryCommand({
      TableName: db.events,
      KeyConditionExpression: options.since ? 'pk = :pk AND sk >= :since' : 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.auditPartition(accountId), ...(options.since && { ':since': new Date(options.since).toISOString() }) },
      Limit: options.limit,
      ScanIndexForward: Boolean(options.since),
      ...(start && { ExclusiveStartKey: { pk: keys.auditPartition(accountId), sk: start } }),
    }),
  );
  const items = (output.Items ?? []).map((item) => ({
    auditId: item.auditId as string,
    at: item.at as string,
    actor: item.actor as string,
    action: item.action as string,
    target: { type: item.targetType as string, id: item.targetId as string },
    details: (item.details as Record<string, unknown>) ?? {},
  }));
  return { items, nextCursor: encodeCursor(output.LastEvaluatedKey) };
}
