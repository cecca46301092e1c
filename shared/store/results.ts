import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError, type ValidationIssue } from '../domain/errors.js';
import { lateResultRefusal } from '../domain/authorizations.js';
import { type AuthorizationRecord, getAuthorizationRecord } from './authorizations.js';
import { type Db, cancelledConditions } from './db.js';
import { withFaultRetry } from './faults.js';
import { type FeedPage, type FeedQuery, arrivalStamp, checkWriteLatency, readFeed } from './feed.js';
import { keys } from './keys.js';

/** Programming results are history: kept two years, then DynamoDB's TTL removes them. */
export const RESULT_RETENTION_DAYS = 730;
/** DynamoDB takes 100 items a transaction: 98 results, the job's counters and the authorization's `reported`. */
const RESULTS_PER_TRANSACTION = 98;

export interface ResultInput {
  serial: string;
  status: 'success' | 'failure';
  errorCode?: string;
  durationMs?: number;
  at?: string;
}

export interface ResultView {
  authorizationId: string;
  programmerId: string;
  serial: string;
  status: 'success' | 'failure';
  errorCode: string | null;
  durationMs: number | null;
  at: string;
  reportedAt: string;
  run: number;
}

/** Every serial must be one the authorization granted, and reported once per request. */
export function checkResultsAgainstGrant(authorization: AuthorizationRecord, results: ResultInput[]): void {
  const granted = new Set(authorization.serials);
  const seen = new Map<string, ResultInput>();
  const issues: ValidationIssue[] = [];
  results.forEach((result, index) => {
    if (!granted.has(result.serial)) {
      issues.push({ path: `results.${index}.serial`, message: `${result.serial} was not granted by authorization ${authorization.authorizationId}` });
    }
    const earlier = seen.get(result.serial);
    if (earlier && earlier.status !== result.status) {
      issues.push({ path: `results.${index}.serial`, message: `${result.serial} is reported twice with different outcomes` });
    }
    seen.set(result.serial, result);
  });
  if (issues.length > 0) throw new ValidationError(issues);
}

/**
 * Records results idempotently by (authorization, serial) and moves the job's counters and the
 * authorization's `reported` count in the same transactions, so counters always equal the
 * number of distinct results and a release (which is conditioned on `reported`) can never give
 * back a unit whose result is being recorded. A retry finds its earlier results by their keys
 * and counts only what is new. Counters belong to the run the authorization was given in: after
 * a restart, late results are kept but count in no run. After a release, a result for a serial
 * that went back to the job is refused (`409 authorization_released`).
 */
export async function recordResults(
  db: Db,
  accountId: string,
  authorization: AuthorizationRecord,
  results: ResultInput[],
  now = new Date(),
): Promise<{ recorded: number; duplicates: number }> {
  checkResultsAgainstGrant(authorization, results);
  const unique = [...new Map(results.map((r) => [r.serial, r])).values()];
  const duplicatesInRequest = results.length - unique.length;
  const expiresAt = Math.floor(now.getTime() / 1000) + RESULT_RETENTION_DAYS * 86_400;
  let recorded = 0;
  let duplicates = duplicatesInRequest;

  for (let i = 0; i < unique.length; i += RESULTS_PER_TRANSACTION) {
    let pending = unique.slice(i, i + RESULTS_PER_TRANSACTION);
    let countInRun = true;
    while (pending.length > 0) {
      const succeeded = pending.filter((r) => r.status === 'success').length;
      const failed = pending.length - succeeded;
      const puts = (reportedAt: string) => pending.map((result) => ({
        Put: {
          TableName: db.events,
          Item: {
            ...keys.result(accountId, authorization.authorizationId, result.serial),
            gsi1pk: keys.jobResultsIndex(accountId, authorization.jobId),
            gsi1sk: keys.resultIndexSk(reportedAt, authorization.authorizationId, result.serial),
            type: 'result',
            authorizationId: authorization.authorizationId,
            programmerId: authorization.programmerId,
            jobId: authorization.jobId,
            serial: result.serial,
            status: result.status,
            errorCode: result.errorCode,
            durationMs: result.durationMs,
            at: result.at ?? reportedAt,
            reportedAt,
            run: authorization.run,
            expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      }));
      const counter = {
        Update: {
          TableName: db.table,
          Key: keys.job(accountId, authorization.jobId),
          UpdateExpression: 'ADD succeeded :succeeded, failed :failed',
          ConditionExpression: '#run = :run',
          ExpressionAttributeNames: { '#run': 'run' },
          ExpressionAttributeValues: { ':succeeded': succeeded, ':failed': failed, ':run': authorization.run },
        },
      };
      const reportedCount = {
        Update: {
          TableName: db.table,
          Key: keys.authorization(accountId, authorization.authorizationId),
          UpdateExpression: 'ADD reported :count',
          ConditionExpression: '#state = :granted OR attribute_not_exists(#state)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':count': pending.length, ':granted': 'granted' },
        },
      };
      try {
        await withFaultRetry(async () => {
          // Stamped right before each attempt (a cancelled one stored nothing): `reportedAt` is the
          // results' place in the job's arrival-ordered feed (feed.ts), so no backoff can slip them in behind a reader.
          const reportedAt = arrivalStamp();
          const started = Date.now();
          await db.doc.send(new TransactWriteCommand({ TransactItems: [...puts(reportedAt), reportedCount, ...(countInRun ? [counter] : [])] }));
          checkWriteLatency(started, 'results');
        });
        recorded += pending.length;
        pending = [];
      } catch (error) {
        const failedConditions = cancelledConditions(error);
        if (!failedConditions?.some(Boolean)) throw error;
        if (failedConditions[pending.length]) {
          // Released meanwhile: what is new here either went back to the job or was reported before.
          const released = await getAuthorizationRecord(db, accountId, authorization.programmerId, authorization.authorizationId);
          const refusal = lateResultRefusal(authorization.authorizationId, released.returnedSerials, pending.map((r) => r.serial));
          if (refusal) throw refusal;
        }
        // Results already stored by an earlier attempt are dropped; a job in another run no longer counts them.
        const stillNew = pending.filter((_, index) => !failedConditions[index]);
        duplicates += pending.length - stillNew.length;
        if (countInRun && failedConditions[pending.length + 1]) countInRun = false;
        pending = stillNew;
      }
    }
  }
  return { recorded, duplicates };
}

/** A job's results in arrival order (`reportedAt`, the cloud's clock); see feed.ts for cursors. */
export async function listResults(db: Db, accountId: string, jobId: string, query: FeedQuery): Promise<FeedPage<ResultView>> {
  const gsi1pk = keys.jobResultsIndex(accountId, jobId);
  const source = { table: db.events, indexName: 'gsi1', partitionKey: 'gsi1pk', partitionValue: gsi1pk, sortKey: 'gsi1sk', startKey: (gsi1sk: string) => resultStartKey(accountId, gsi1pk, gsi1sk) };
  return readFeed(db, source, query, (item) => ({
    authorizationId: item.authorizationId as string,
    programmerId: item.programmerId as string,
    serial: item.serial as string,
    status: item.status as ResultView['status'],
    errorCode: (item.errorCode as string | undefined) ?? null,
    durationMs: (item.durationMs as number | undefined) ?? null,
    at: item.at as string,
    reportedAt: item.reportedAt as string,
    run: item.run as number,
  }));
}

/** A GSI start key needs the base table key too; both follow from the index sort key (a bare time gives an empty id and serial). */
function resultStartKey(accountId: string, gsi1pk: string, gsi1sk: string) {
  const [, authorizationId = '', ...serialParts] = gsi1sk.split('#');
  return { gsi1pk, gsi1sk, ...keys.result(accountId, authorizationId, serialParts.join('#')) };
}
