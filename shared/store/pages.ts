import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, decodeCursor, encodeCursor } from './db.js';
import { keys } from './keys.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor?: string;
}

type ToView<T> = (item: Record<string, unknown>) => T;

/** One page of an account's entities of one kind (a sort-key prefix), in id order. */
export async function accountPage<T>(db: Db, accountId: string, prefix: string, page: PageRequest, toView: ToView<T>): Promise<Page<T>> {
  const pk = keys.accountPartition(accountId);
  const start = decodeCursor(page.cursor, prefix);
  const output = await db.doc.send(
    new QueryCommand({
      TableName: db.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
      Limit: page.limit,
      ...(start && { ExclusiveStartKey: { pk, sk: start } }),
    }),
  );
  return { items: (output.Items ?? []).map(toView), nextCursor: encodeCursor(output.LastEvaluatedKey) };
}

/**
 * One page of a factory's entities of one kind, through `gsi1`. Entities indexed there use
 * their own sort key as index sort key, so a cursor rebuilds the full start key.
 */
export async function factoryPage<T>(
  db: Db,
  accountId: string,
  factoryId: string,
  prefix: string,
  page: PageRequest,
  toView: ToView<T>,
): Promise<Page<T>> {
  const gsi1pk = keys.factoryIndex(accountId, factoryId);
  const start = decodeCursor(page.cursor, prefix);
  const output = await db.doc.send(
    new QueryCommand({
      TableName: db.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :prefix)',
      ExpressionAttributeValues: { ':pk': gsi1pk, ':prefix': prefix },
      Limit: page.limit,
      ...(start && { ExclusiveStartKey: { gsi1pk, gsi1sk: start, pk: keys.accountPartition(accountId), sk: start } }),
    }),
  );
  return { items: (output.Items ?? []).map(toView), nextCursor: encodeCursor(output.LastEvaluatedKey, 'gsi1sk') };
}
