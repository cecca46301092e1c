import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../domain/errors.js';

/** The DynamoDB side of the store: one client, the entity table and the events table. */
export interface Db {
  doc: DynamoDBDocumentClient;
  table: string;
  events: string;
}

/** Cursors carry only the sort key of the last item; the partition always comes from the caller's own account. */
export function encodeCursor(lastKey: Record<string, unknown> | undefined, field = 'sk'): string | null {
  const value = lastKey?.[field];
  return typeof value === 'string' ? Buffer.from(value, 'utf8').toString('base64url') : null;
}

export function decodeCursor(cursor: string | undefined, expectedPrefix: string): string | undefined {
  if (cursor === undefined) return undefined;
  const value = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!value.startsWith(expectedPrefix)) {
    throw new ValidationError([{ path: 'query.cursor', message: 'is not a cursor of this list' }]);
  }
  return value;
}

export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** For a cancelled transaction: which of its items failed their condition. */
export function cancelledConditions(error: unknown): boolean[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((r) => r.Code === 'ConditionalCheckFailed');
}

export function nowIso(): string {
  return new Date().toISOString();
}
