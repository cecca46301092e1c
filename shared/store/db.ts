import { BatchGetCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { CursorCodec } from './cursors.js';
import { UnprocessedItemsError, withFaultRetry } from './faults.js';

/** The DynamoDB side of the store: one client, the entity table and the events table, and the codec of list cursors. */
export interface Db {
  doc: DynamoDBDocumentClient;
  table: string;
  events: string;
  cursors: CursorCodec;
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

/**
 * Reads many items of one table in as few round trips as DynamoDB allows (100 keys a call,
 * unprocessed keys sent again with backoff inside the fault budget, then 429), answering in the
 * order of the keys asked, undefined where missing.
 */
export async function getItems(
  db: Db,
  table: string,
  itemKeys: { pk: string; sk: string }[],
  consistent: boolean,
): Promise<(Record<string, unknown> | undefined)[]> {
  const found = new Map<string, Record<string, unknown>>();
  const id = (key: { pk: unknown; sk: unknown }) => `${String(key.pk)}\n${String(key.sk)}`;
  for (let i = 0; i < itemKeys.length; i += 100) {
    let pending: { pk: string; sk: string }[] = itemKeys.slice(i, i + 100).map((key) => ({ pk: key.pk, sk: key.sk }));
    await withFaultRetry(async () => {
      const output = await db.doc.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: consistent } } }));
      for (const item of output.Responses?.[table] ?? []) found.set(id(item as { pk: string; sk: string }), item);
      pending = (output.UnprocessedKeys?.[table]?.Keys ?? []) as { pk: string; sk: string }[];
      if (pending.length > 0) throw new UnprocessedItemsError(pending.length);
    });
  }
  return itemKeys.map((key) => found.get(id(key)));
}

/**
 * Writes many items of one table, unconditionally, one PutItem each, a few at a time, each
 * retried inside the fault budget. Not BatchWriteItem: the functions that call this hold
 * PutItem and nothing wider (test/infra). For items whose write may be repeated.
 */
export async function putItems(db: Db, table: string, items: readonly Record<string, unknown>[], concurrency = 8): Promise<void> {
  for (let i = 0; i < items.length; i += concurrency) {
    await Promise.all(items.slice(i, i + concurrency).map((Item) => withFaultRetry(() => db.doc.send(new PutCommand({ TableName: table, Item })))));
  }
}
