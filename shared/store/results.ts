import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError, type ValidationIssue } from '../domain/errors.js';
import { lateResultRefusal } from '../domain/authorizations.js';
import { type AuthorizationRecord, getAuthorizationRecord } from './authorizations.js';
import { type Db, cancelledConditions, decodeCursor, encodeCursor } from './db.js';
import { withFaultRetry } from './faults.js';
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
  const reportedAt = now.toISOString();
  const expiresAt = Math.floor(now.getTime() / 1000) + RESULT_RETENTION_DAYS * 86_400;
  let recorded = 0;
  let duplicates = duplicatesInRequest;

  for (let i = 0; i < unique.length; i += RESULTS_PER_TRANSACTION) {
    let pending = unique.slice(i, i + RESULTS_PER_TRANSACTION);
    let countInRun = true;
    while (pending.length > 0) {
      const succeeded = pending.filter((r) => r.status === 'success').length;
      const failed = pending.length - succeeded;
      const puts = pending.map((result) => ({
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
        await withFaultRetry(() => db.doc.send(new TransactWriteCommand({ TransactItems: [...puts, reportedCount, ...(countInRun ? [counter] : [])] })));
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

export async function listResults(db: Db, accountId: string, jobId: string, query: { limit: number; cursor?: string; since?: string }) {
  const gsi1pk = keys.jobResultsIndex(accountId, jobId);
  const start = decodeCursor(query.cursor, '');
  const output = await db.doc.send(
    new QueryCommand({
      TableName: db.events,
      IndexName: 'gsi1',
      KeyConditionExpression: query.since ? 'gsi1pk = :pk AND gsi1sk >= :since' : 'gsi1pk = :pk',
      // Keys hold UTC ISO times: compare against the same form, whatever offset the caller used.
      ExpressionAttributeValues: { ':pk': gsi1pk, ...(query.since && { ':since': new Date(query.since).toISOString() }) },
      Limit: query.limit,
      ...(start && { ExclusiveStartKey: resultStartKey(accountId, gsi1pk, start) }),
    }),
  );
  const items: ResultView[] = (output.Items ?? []).map((item) => ({
    authorizationId: item.authorizationId,
    programmerId: item.programmerId,
    serial: item.serial,
    status: item.status,
    errorCode: item.errorCode ?? null,
    durationMs: item.durationMs ?? null,
    at: item.at,
    reportedAt: item.reportedAt,
    run: item.run,
  }));
  return { items, nextCursor: encodeCursor(output.LastEvaluatedKey, 'gsi1sk') };
}

/** A GSI start key needs the base table key too; both follow from the index sort key. */
function resultStartKey(accountId: string, gsi1pk: string, gsi1sk: string) {
  const [, authorizationId = '', ...serialParts] = gsi1sk.split('#');
  return { gsi1pk, gsi1sk, ...keys.result(accountId, authorizationId, serialParts.join('#')) };
}
