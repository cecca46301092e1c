import { createHash } from 'node:crypto';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, decodeCursor, encodeCursor } from './db.js';
import { keys } from './keys.js';

/** Log lines are kept 90 days, then DynamoDB's TTL removes them. */
export const LOG_RETENTION_DAYS = 90;

export interface LogLineInput {
  at: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

export interface LogLineView extends LogLineInput {
  programmerId: string;
  authorizationId: string | null;
}

/**
 * Appends lines to a job's log. A line's key is derived from its content and its position
 * among identical lines of the request, so a retried request overwrites itself instead of
 * appending twice.
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
  const occurrences = new Map<string, number>();
  const requests = lines.map((line) => {
    const identity = `${source.programmerId}\n${source.authorizationId ?? ''}\n${line.at}\n${line.level}\n${line.message}`;
    const occurrence = occurrences.get(identity) ?? 0;
    occurrences.set(identity, occurrence + 1);
    const lineHash = createHash('sha256').update(`${identity}\n${occurrence}`).digest('hex').slice(0, 24);
    const at = new Date(line.at).toISOString();
    return {
      PutRequest: {
        Item: {
          ...keys.logLine(accountId, jobId, at, lineHash),
          type: 'log',
          at,
          level: line.level,
          message: line.message,
          programmerId: source.programmerId,
          authorizationId: source.authorizationId,
          expiresAt,
        },
      },
    };
  });
  for (let i = 0; i < requests.length; i += 25) {
    let batch: Record<string, typeof requests> | undefined = { [db.events]: requests.slice(i, i + 25) };
    for (let attempt = 0; batch && Object.keys(batch).length > 0; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
      if (attempt > 8) throw Object.assign(new Error('DynamoDB kept log lines unprocessed'), { name: 'ThrottlingException' });
      const output = await db.doc.send(new BatchWriteCommand({ RequestItems: batch }));
      batch = output.UnprocessedItems as typeof batch;
    }
  }
  return lines.length;
}

export async function listLogLines(db: Db, accountId: string, jobId: string, query: { limit: number; cursor?: string; since?: string }) {
  const pk = keys.jobLogsPartition(accountId, jobId);
  const start = decodeCursor(query.cursor, '');
  const output = await db.doc.send(
    new QueryCommand({
      TableName: db.events,
      KeyConditionExpression: query.since ? 'pk = :pk AND sk >= :since' : 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk, ...(query.since && { ':since': new Date(query.since).toISOString() }) },
      Limit: query.limit,
      ...(start && { ExclusiveStartKey: { pk, sk: start } }),
    }),
  );
  const items: LogLineView[] = (output.Items ?? []).map((item) => ({
    at: item.at,
    level: item.level,
    message: item.message,
    programmerId: item.programmerId,
    authorizationId: item.authorizationId ?? null,
  }));
  return { items, nextCursor: encodeCursor(output.LastEvaluatedKey) };
}
