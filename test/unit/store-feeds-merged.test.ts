import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { type FeedSource, readMergedFeed } from '../../shared/store/feed.js';
import { LOG_SHARDS, listLogLines, logShardOf } from '../../shared/store/logs.js';

const ddb = mockClient(DynamoDBDocumentClient);
const db: Db = { doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), table: 'entities', events: 'events', cursors: ephemeralCursorCodec() };
const now = Date.parse('2026-11-27T12:00:00.000Z');
const key = (second: number, writer = 'aaaaaaaaaa') => `2026-11-27T11:00:${String(second).padStart(2, '0')}.000Z#${writer}#${String(second).padStart(9, '0')}`;
const partition = (pk: string): FeedSource => ({ table: 'events', partitionKey: 'pk', partitionValue: pk, sortKey: 'sk', startKey: (sk) => ({ pk, sk }) });

/**
 * A small DynamoDB for Query only: partitions of sorted keys, honouring the key condition's
 * bounds, ExclusiveStartKey and Limit as DynamoDB does, so the merge is tested against real
 * paging (short pages, LastEvaluatedKey) rather than canned answers.
 */
function serve(partitions: Record<string, string[]>) {
  ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    const values = input.ExpressionAttributeValues as Record<string, string>;
    const from = values[':from'];
    const after = input.ExclusiveStartKey?.sk as string | undefined;
    const keys = [...(partitions[values[':pk'] as string] ?? [])].sort().filter((sk) => sk <= values[':horizon']! && (from === undefined || sk >= from) && (after === undefined || sk > after));
    const page = keys.slice(0, input.Limit);
    const more = keys.length > page.length;
    return { Items: page.map((sk) => ({ pk: values[':pk'], sk })), ...(more && { LastEvaluatedKey: { pk: values[':pk'], sk: page.at(-1) } }) };
  });
}

async function readAll(feed: { list: string; partitions: FeedSource[] }, limit: number, since?: string) {
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await readMergedFeed(db, feed, { limit, cursor, ...(since && { since }) }, (item) => item.sk as string, now);
    pages.push(page.items);
    if (!page.nextCursor) return { pages, followCursor: page.followCursor };
    cursor = page.nextCursor;
  }
}

describe('a feed merged from several partitions (log shards)', () => {
  afterEach(() => ddb.reset());
  const feed = { list: 'L', partitions: ['A', 'B', 'C'].map(partition) };

  it('pages through interleaved partitions in key order, each item once, and follows on from the end', async () => {
    const all = Array.from({ length: 23 }, (_, i) => key(i + 1));
    serve({ A: all.filter((_, i) => i % 3 === 0), B: all.filter((_, i) => i % 3 === 1), C: all.filter((_, i) => i % 3 === 2) });
    const { pages, followCursor } = await readAll(feed, 5);
    expect(pages.flat()).toEqual(all);
    expect(pages.slice(0, -1).every((page) => page.length === 5)).toBe(true);

    // Later arrivals in any partition come after the follow cursor, and nothing before it again.
    const later = ['2026-11-27T11:59:59.000Z#bbbbbbbbbb#000000001', '2026-11-27T11:59:59.500Z#cccccccccc#000000001'];
    serve({ A: all.filter((_, i) => i % 3 === 0), B: [...all.filter((_, i) => i % 3 === 1), later[1]!], C: [...all.filter((_, i) => i % 3 === 2), later[0]!] });
    const next = await readMergedFeed(db, feed, { limit: 5, cursor: followCursor }, (item) => item.sk as string, now + 10_000);
    expect(next.items).toEqual(later);
  });

  it('reads a partition that holds a whole run of the page on for what the page lacks, not for a page per partition', async () => {
    const run = Array.from({ length: 30 }, (_, i) => key(i + 1));
    serve({ A: [], B: run, C: [] });
    const page = await readMergedFeed(db, feed, { limit: 20 }, (item) => item.sk as string, now);
    expect(page.items).toEqual(run.slice(0, 20));
    const limits = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input.Limit);
    // A share of the page from each partition first, then only what is still missing.
    expect(limits.slice(0, 3)).toEqual([8, 8, 8]);
    expect(limits.slice(3)).toEqual([12]);
  });

  it('starts at `since` in every partition and ends with a null nextCursor when all are read to the horizon', async () => {
    serve({ A: [key(1), key(5)], B: [key(2), key(6)], C: [key(3)] });
    const { pages } = await readAll(feed, 10, '2026-11-27T11:00:02.000Z');
    expect(pages).toEqual([[key(2), key(3), key(5), key(6)]]);
  });

  it('refuses a position inside an item, which only feeds of multi-entry items hand out', async () => {
    const inside = await db.cursors.seal('L', `>${key(1)}~2`);
    await expect(readMergedFeed(db, feed, { limit: 5, cursor: inside }, (item) => item, now)).rejects.toMatchObject({ status: 400 });
  });
});

describe('job logs', () => {
  afterEach(() => ddb.reset());

  it(`read the ${LOG_SHARDS} shards and the partition lines were kept in before sharding`, async () => {
    serve({ 'ACCT#acc_1#JOB#job_1#LOG': [key(1)], 'ACCT#acc_1#JOB#job_1#LOG#3': [key(2)], 'ACCT#acc_1#JOB#job_1#LOG#7': [key(0)] });
    const page = await listLogLines(db, 'acc_1', 'job_1', { limit: 10 });
    expect(page.items.map((line) => line.sequence)).toEqual([key(0), key(1), key(2)]);
    const read = ddb.commandCalls(QueryCommand).map((call) => (call.args[0].input.ExpressionAttributeValues as Record<string, string>)[':pk']);
    expect(new Set(read)).toEqual(new Set(['ACCT#acc_1#JOB#job_1#LOG', ...Array.from({ length: LOG_SHARDS }, (_, shard) => `ACCT#acc_1#JOB#job_1#LOG#${shard}`)]));
  });

  it('spread chunks evenly over the shards', () => {
    // Chunk hashes are SHA-256 hex: the shards fill as uniformly as the hash spreads.
    const counts = new Array<number>(LOG_SHARDS).fill(0);
    for (let i = 0; i < 8000; i += 1) counts[logShardOf(createHash('sha256').update(String(i)).digest('hex'))]! += 1;
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });
});
