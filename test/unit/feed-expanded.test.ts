import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../shared/store/db.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import { readExpandedFeed } from '../../shared/store/feed.js';

const ddb = mockClient(DynamoDBDocumentClient);
const db: Db = { doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), table: 'entities', events: 'events', cursors: ephemeralCursorCodec() };
const source = { table: 'events', partitionKey: 'pk', partitionValue: 'P', sortKey: 'sk', startKey: (sk: string) => ({ pk: 'P', sk }) };
const now = Date.parse('2026-11-27T12:00:00.000Z');
const stored = (sk: string, entries: string[]) => ({ pk: 'P', sk, entries });
/** A feed cursor of this feed's list, as the store seals them (`>` marks feed positions). */
const encodeFeedCursor = (position: string) => db.cursors.seal('P', `>${position}`);
const expand = (item: Record<string, unknown>) => item.entries as string[];
const first = '2026-11-27T11:00:00.000Z#aaaaaaaaaa#000000001';
const second = '2026-11-27T11:00:01.000Z#aaaaaaaaaa#000000002';

describe('feeds whose items hold several entries (result batches)', () => {
  afterEach(() => ddb.reset());

  it('ends a full page inside an item, and the next page starts with the rest of that item', async () => {
    ddb.on(QueryCommand).resolvesOnce({ Items: [stored(first, ['a', 'b', 'c']), stored(second, ['d'])] }).resolvesOnce({ Items: [stored(first, ['a', 'b', 'c']), stored(second, ['d'])] });
    const page = await readExpandedFeed(db, source, { limit: 2 }, expand, now);
    expect(page.items).toEqual(['a', 'b']);
    expect(page.nextCursor).toBe(await encodeFeedCursor(`${first}~2`));

    const next = await readExpandedFeed(db, source, { limit: 2, cursor: page.nextCursor! }, expand, now);
    expect(next.items).toEqual(['c', 'd']);
    // Read from that item itself (inclusive), not after it.
    const input = ddb.commandCalls(QueryCommand)[1]!.args[0].input;
    expect(input.KeyConditionExpression).toContain('BETWEEN :from AND :horizon');
    expect(input.ExpressionAttributeValues).toMatchObject({ ':from': first });
    expect(input.ExclusiveStartKey).toBeUndefined();
  });

  it('ends a page exactly at an item boundary with a plain position', async () => {
    ddb.on(QueryCommand).resolves({ Items: [stored(first, ['a', 'b']), stored(second, ['c'])] });
    const page = await readExpandedFeed(db, source, { limit: 2 }, expand, now);
    expect(page.items).toEqual(['a', 'b']);
    expect(page.nextCursor).toBe(await encodeFeedCursor(first));
  });

  it('refuses a position inside an item that names no entry', async () => {
    for (const cursor of [`${first}~0`, `${first}~x`, `${first}~-1`, `${first}~1001`, 'JOB#job_1', '']) {
      await expect(readExpandedFeed(db, source, { limit: 2, cursor: await encodeFeedCursor(cursor) }, expand, now)).rejects.toMatchObject({ status: 400 });
    }
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });
});
