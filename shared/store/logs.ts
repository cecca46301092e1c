import { createHash } from 'node:crypto';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, cancelledConditions } from './db.js';
import { withFaultRetry } from './faults.js';
import { type FeedPage, type FeedQuery, type FeedSource, arrivalKey, arrivalStamp, checkWriteLatency, readMergedFeed } from './feed.js';
import { keys } from './keys.js';

/** Log lines are kept 90 days, then DynamoDB's TTL removes them. */
export const LOG_RETENTION_DAYS = 90;
/** How long a retried request is recognised: far beyond any device's retry schedule. */
export const LOG_REQUEST_MEMORY_DAYS = 7;
/** A transaction holds 100 items: 99 lines and the marker of their chunk. */
const LINES_PER_CHUNK = 99;

/**
 * A job's log lines are spread over this many partitions. One partition takes about 1,000
 * write units a second, and a line costs two (it is written in a transaction): one partition
 * would cap a job at ~500 lines/s, whatever its number of programmers — a gang line of 24
 * sockets logging a few dozen lines per unit gets there. Eight shards raise that to ~4,000
 * lines/s; a reader pays eight small queries a page instead of one (feed.ts readMergedFeed).
 * The shard is picked per chunk from the chunk's hash, not per programmer: a single busy
 * programmer (or a job with one) spreads too, and a retried chunk lands where it did before.
 * Changing this number moves new lines only; readers must keep reading the old shards.
 */
export const LOG_SHARDS = 8;

export function logShardOf(chunkHash: string): number {
  return Number.parseInt(chunkHash.slice(0, 8), 16) % LOG_SHARDS;
}

export interface LogLineInput {
  at: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

export interface LogLineView extends LogLineInput {
  programmerId: string;
  authorizationId: string | null;
  /** When the cloud received the line; `since` compares against it. */
  receivedAt: string;
  /** The line's place in the job's arrival order (opaque, strictly increasing). */
  sequence: string;
}

/**
 * Appends lines to a job's log in arrival order (see feed.ts). Each chunk of up to 99 lines is
 * stored in ONE transaction with a marker derived from the request and the chunk's content:
 * a retried request finds its stored chunks by their markers and skips them, so it neither
 * appends twice nor moves lines a reader has already seen; a chunk is never half stored. A
 * cancelled transaction stores nothing, so the retry of a chunk is stamped afresh.
 * (Transactions cost twice the write units of plain puts: the price of exactly-once.)
 */
export async function appendLogLines(
  db: Db,
  accountId: string,
  jobId: string,
  source: { programmerId: string; authorizationId?: string },
  lines: LogLineInput[],
  now = new Date(),
): Promise<number> {
  const expiresAt = Math.floor(now.getTime() / 1000) + LOG_RETENTION_DAYS * 86_400;
  const markerExpiresAt = Math.floor(now.getTime() / 1000) + LOG_REQUEST_MEMORY_DAYS * 86_400;
  const request = createHash('sha256').update(`${source.programmerId}\n${source.authorizationId ?? ''}\n${lines.length}`);
  for (let i = 0; i < lines.length; i += LINES_PER_CHUNK) {
    const chunk = lines.slice(i, i + LINES_PER_CHUNK);
    const chunkHash = request.copy().update(`\n${i}\n${JSON.stringify(chunk.map((l) => [l.at, l.level, l.message]))}`).digest('hex').slice(0, 32);
    const shard = logShardOf(chunkHash);
    // Stamped right before each attempt (a cancelled one stored nothing): a throttle's backoff
    // can then never slip lines in behind a reader (feed.ts).
    const attempt = async () => {
      const stamp = arrivalStamp();
      const puts = chunk.map((line) => {
        const sequence = arrivalKey(stamp);
        return {
          Put: {
            TableName: db.events,
            Item: {
              ...keys.logLine(accountId, jobId, shard, sequence),
              type: 'log',
              at: new Date(line.at).toISOString(),
              receivedAt: stamp,
              level: line.level,
              message: line.message,
              programmerId: source.programmerId,
              authorizationId: source.authorizationId,
              expiresAt,
            },
          },
        };
      });
      const marker = {
        Put: {
          TableName: db.events,
          Item: { ...keys.logRequest(accountId, jobId, chunkHash), type: 'log-request', storedAt: stamp, expiresAt: markerExpiresAt },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
    };
    const started = Date.now();
    await db.doc.send(new TransactWriteCommand({ TransactItems: [marker, ...puts] }));
    checkWriteLatency(started, 'log lines');
    };
    try {
      await withFaultRetry(attempt);
    } catch (error) {
      // The marker exists: an earlier attempt of this request stored this chunk.
      if (!cancelledConditions(error)?.[0]) throw error;
    }
  }
  return lines.length;
}

/**
 * A job's log in arrival order: its shards merged, and the partition lines were kept in before
 * they were sharded (read as one more shard, so nothing stored before needs moving; TTL empties
 * it within LOG_RETENTION_DAYS).
 */
export async function listLogLines(db: Db, accountId: string, jobId: string, query: FeedQuery, now = Date.now()): Promise<FeedPage<LogLineView>> {
  const partition = (pk: string): FeedSource => ({ table: db.events, partitionKey: 'pk', partitionValue: pk, sortKey: 'sk', startKey: (sk) => ({ pk, sk }) });
  const legacy = keys.jobLogsPartition(accountId, jobId);
  const shards = Array.from({ length: LOG_SHARDS }, (_, shard) => partition(keys.jobLogsShard(accountId, jobId, shard)));
  return readMergedFeed(db, { list: legacy, partitions: [partition(legacy), ...shards] }, query, (item) => ({
    at: item.at as string,
    level: item.level as LogLineView['level'],
    message: item.message as string,
    programmerId: item.programmerId as string,
    authorizationId: (item.authorizationId as string | undefined) ?? null,
    // Lines stored before arrival order existed were keyed by their device time: theirs is the best guess.
    receivedAt: (item.receivedAt as string | undefined) ?? (item.at as string),
    sequence: item.sk as string,
  }), now);
}
