import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type AutoPause, GUARDRAIL_ACTOR, failuresCeilingBelowRate, guardrailCrossed, storedAutoPause } from '../domain/guardrail.js';
import { ThrottledError } from '../domain/errors.js';
import { type ResultInput, ReportedSet, planReport } from '../domain/reports.js';
import { type AuthorizationRecord, authorizationOf, readReportedState } from './authorizations.js';
import { type Db, cancelledConditions, getItems } from './db.js';
import { auditItem } from './audit.js';
import { activeProgrammer } from './device.js';
import { withFaultRetry } from './faults.js';
import { type FeedPage, type FeedQuery, arrivalKey, arrivalStamp, checkWriteLatency, readExpandedFeed } from './feed.js';
import { keys } from './keys.js';
import { decodeResultBatch, encodeResultBatch } from './result-batches.js';
import { returnedValuesWrites } from './unit-fields.js';
import { checkResultUids } from '../domain/uids.js';
import { markUidsProgrammed, releaseUidClaims } from './uid-claims.js';

export type { ResultInput } from '../domain/reports.js';

/** Programming results are history: kept two years, then DynamoDB's TTL removes them. */
export const RESULT_RETENTION_DAYS = 730;

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

/** What an authorization has had reported so far, as stored beside it (keys.reportedUnits). */
export interface ReportedState {
  set: ReportedSet;
  /** The stored bits, for the condition of the next write; undefined while nothing is stored. */
  storedBits: Uint8Array | undefined;
  /** Frozen by the release: the units not in `set` went back to the job. */
  released: boolean;
}

export function toReportedState(units: number, item: Record<string, unknown> | undefined): ReportedState {
  const storedBits = item?.bits as Uint8Array | undefined;
  return { set: ReportedSet.fromBytes(units, storedBits), storedBits, released: item?.released === true };
}

/**
 * A write of an authorization's reported units, conditioned on them still being what we read
 * (the same bits, or still no item at all). Every report and the release write under it, so
 * they serialize on this small item.
 */
export function reportedUnitsWrite(db: Db, accountId: string, authorizationId: string, read: ReportedState, assignment: string, values: Record<string, unknown>) {
  return {
    Update: {
      TableName: db.table,
      Key: keys.reportedUnits(accountId, authorizationId),
      UpdateExpression: `SET ${assignment}`,
      ...(read.storedBits === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)', ExpressionAttributeValues: values }
        : { ConditionExpression: 'bits = :readBits AND attribute_not_exists(released)', ExpressionAttributeValues: { ...values, ':readBits': read.storedBits } }),
    },
  };
}

/** What the guardrail decides on: the job's counters and state as read, and its autoPause. */
interface GuardedJob {
  run: number;
  status: string;
  succeeded: number;
  failed: number;
  autoPause: AutoPause;
}

/**
 * Per container: jobs last seen with a guardrail, whose reports read the job first. Every other
 * report conditions its counter update on the job having none, so jobs without a guardrail pay
 * nothing for it; a report finding one there reads the job and writes again (once per container).
 */
const guardedJobs = new Set<string>();

async function readGuardedJob(db: Db, accountId: string, jobId: string): Promise<(Omit<GuardedJob, 'autoPause'> & { autoPause: AutoPause | null }) | undefined> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.job(accountId, jobId), ConsistentRead: true, ProjectionExpression: '#run, #status, succeeded, failed, autoPauseFailureRate, autoPauseMinUnits', ExpressionAttributeNames: { '#run': 'run', '#status': 'status' } }));
  if (!Item) return undefined;
  return { run: Number(Item.run), status: String(Item.status), succeeded: Number(Item.succeeded ?? 0), failed: Number(Item.failed ?? 0), autoPause: storedAutoPause(Item) };
}

/**
 * The counter update of a report. Without a known guardrail it requires the job to have none.
 * With one, either its failures stay under a ceiling that keeps the rate below the guardrail
 * whatever lands first (failuresCeilingBelowRate), or — near the threshold — the counters and
 * status are exactly what was read, so the write that makes the job cross is exactly the one
 * that pauses it.
 */
function counterUpdate(db: Db, accountId: string, authorization: AuthorizationRecord, counts: { succeeded: number; failed: number; returned: number }, guard: GuardedJob | undefined, at: string) {
  const adds = ['succeeded :succeeded', 'failed :failed', ...(counts.returned > 0 ? ['#returned :returned'] : [])];
  const sets = counts.returned > 0 ? ['authorized = authorized - :returned'] : [];
  const names: Record<string, string> = { '#run': 'run', ...(counts.returned > 0 && { '#returned': 'returned' }) };
  const values: Record<string, unknown> = { ':succeeded': counts.succeeded, ':failed': counts.failed, ':run': authorization.run, ...(counts.returned > 0 && { ':returned': counts.returned }) };
  const conditions = ['#run = :run'];
  const pauses = guard !== undefined && guard.status === 'active' && guardrailCrossed(guard.autoPause, guard.succeeded + counts.succeeded, guard.failed + counts.failed);
  if (!guard) conditions.push('attribute_not_exists(autoPauseFailureRate)');
  else {
    conditions.push('autoPauseFailureRate = :rate', 'autoPauseMinUnits = :minUnits');
    Object.assign(values, { ':rate': guard.autoPause.failureRate, ':minUnits': guard.autoPause.minUnits });
    // Far below the rate, a bound on failures is enough and concurrent reports leave it true;
    // near it (or past it, waiting for minUnits) the decision needs the exact counters.
    const ceiling = pauses ? undefined : failuresCeilingBelowRate(guard.autoPause, guard.succeeded, guard.failed, counts);
    if (ceiling !== undefined) {
      conditions.push('failed <= :failedCeiling');
      values[':failedCeiling'] = ceiling;
    } else {
      names['#status'] = 'status';
      conditions.push('#status = :readStatus', 'failed = :readFailed', 'succeeded = :readSucceeded');
      Object.assign(values, { ':readStatus': guard.status, ':readFailed': guard.failed, ':readSucceeded': guard.succeeded });
    }
    if (pauses) {
      sets.push('#status = :paused', 'statusChangedBy = :guardrail', 'updatedAt = :at');
      Object.assign(values, { ':paused': 'paused', ':guardrail': GUARDRAIL_ACTOR, ':at': at });
    }
  }
  const update = {
    Update: {
      TableName: db.table,
      Key: keys.job(accountId, authorization.jobId),
      UpdateExpression: `ADD ${adds.join(', ')}${sets.length > 0 ? ` SET ${sets.join(', ')}` : ''}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
  if (!pauses) return [update];
  const crossed = { succeeded: guard.succeeded + counts.succeeded, failed: guard.failed + counts.failed };
  return [update, auditItem(db, { accountId, actor: GUARDRAIL_ACTOR, action: 'job.pause', targetType: 'job', targetId: authorization.jobId, details: { run: authorization.run, autoPause: guard.autoPause, ...crossed } }, at)];
}

/** How many times one report plans anew after a concurrent report or release of the same authorization. */
const MAX_PASSES = 16;

/**
 * Records a report idempotently by (authorization, serial), in one transaction of three items:
 * the report's new results as one compressed item in the job's arrival-ordered results feed, the
 * authorization's reported-unit bits, and the job's counters. Counters therefore always equal
 * the distinct results recorded, a retried or overlapping report counts only units not reported
 * before, and a release (which freezes the bits under the same condition) can never give back a
 * unit whose result is being recorded. Counters belong to the run the authorization was given
 * in: after a restart, late results are kept but count in no run. After a release, a result for
 * a unit that went back to the job is refused (`409 authorization_released`).
 */
/** What a report changed: `failed` of the `recorded` were failures (the job's `failed` counter grew by it). */
export interface RecordedResults {
  recorded: number;
  duplicates: number;
  failed: number;
}

export async function recordResults(
  db: Db,
  accountId: string,
  authorization: AuthorizationRecord,
  results: ResultInput[],
  reported?: ReportedState,
  now = new Date(),
): Promise<RecordedResults> {
  checkResultUids(authorization.serials, authorization.uids, results);
  const uidScope = authorization.uidPolicy && { accountId, jobId: authorization.jobId, policy: authorization.uidPolicy };
  const reread = () => readReportedState(db, accountId, authorization);
  const expiresAt = Math.floor(now.getTime() / 1000) + RESULT_RETENTION_DAYS * 86_400;
  let countInRun = true;
  let state = reported ?? (await reread());
  const jobKey = `${accountId}/${authorization.jobId}`;
  let guard: GuardedJob | undefined;
  const learnGuard = async () => {
    const job = await readGuardedJob(db, accountId, authorization.jobId);
    // The job was restarted (or is gone): the results are kept, counted in no run.
    if (!job || job.run !== authorization.run) countInRun = false;
    guard = job?.autoPause ? { ...job, autoPause: job.autoPause } : undefined;
    if (guard) guardedJobs.add(jobKey);
    else guardedJobs.delete(jobKey);
    if (guardedJobs.size > 10_000) guardedJobs.clear();
  };
  if (guardedJobs.has(jobKey)) await learnGuard();
  for (let pass = 1; pass <= MAX_PASSES; pass += 1) {
    const plan = planReport(authorization.authorizationId, authorization.serials, state.set, results, state.released);
    if (plan.fresh.length === 0) return { recorded: 0, duplicates: plan.duplicates, failed: 0 };
    const succeeded = plan.fresh.filter(({ result }) => result.status === 'success').length;
    // onFailure return: a failed unit's count goes back to the job and its values to their sources, in this same transaction.
    const returnedUnits = authorization.onFailure === 'return' ? plan.fresh.filter(({ result }) => result.status === 'failure').map(({ offset }) => offset) : [];
    const returns = returnedValuesWrites(db, accountId, authorization.authorizationId, authorization.unitFields, authorization.unitDraws, returnedUnits);
    // A chip is marked programmed before its success is recorded: a crash between leaves it programmed (the report's retry records it), never free.
    const uidOf = (offset: number) => authorization.uids![offset]!;
    if (uidScope) {
      const programmed = plan.fresh.filter(({ result }) => result.status === 'success').map(({ offset, result }) => ({ uid: uidOf(offset), serial: result.serial }));
      await markUidsProgrammed(db, uidScope, authorization.authorizationId, programmed, now);
    }
    const bits = state.set.with(plan.fresh.map(({ offset }) => offset)).toBytes();
    const reportedUpdate = reportedUnitsWrite(db, accountId, authorization.authorizationId, state, 'bits = :bits', { ':bits': bits });
    const counter = counterUpdate(db, accountId, authorization, { succeeded, failed: plan.fresh.length - succeeded, returned: returnedUnits.length }, guard, now.toISOString());
    try {
      await withFaultRetry(async () => {
        // Stamped right before each attempt (a cancelled one stored nothing): the stamp is the
        // results' place in the job's arrival-ordered feed (feed.ts), so no backoff can slip them in behind a reader.
        const reportedAt = arrivalStamp();
        const batch = {
          Put: {
            TableName: db.events,
            Item: {
              ...keys.resultBatch(accountId, authorization.jobId, arrivalKey(reportedAt)),
              authorizationId: authorization.authorizationId,
              programmerId: authorization.programmerId,
              run: authorization.run,
              count: plan.fresh.length,
              results: encodeResultBatch(plan.fresh.map(({ result }) => result), Date.parse(reportedAt)),
              expiresAt,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        };
        const started = Date.now();
        await db.doc.send(new TransactWriteCommand({ TransactItems: [batch, reportedUpdate, ...(countInRun ? counter.slice(0, 1) : []), ...returns, ...(countInRun ? counter.slice(1) : [])] }));
        checkWriteLatency(started, 'results');
      });
      // A failed unit's chip may be programmed again (what a crash leaves here expires with the lease).
      if (uidScope) {
        const failedUids = plan.fresh.filter(({ result }) => result.status === 'failure').map(({ offset }) => uidOf(offset));
        await releaseUidClaims(db, uidScope, authorization.authorizationId, failedUids);
      }
      return { recorded: plan.fresh.length, duplicates: plan.duplicates, failed: plan.fresh.length - succeeded };
    } catch (error) {
      const failed = cancelledConditions(error);
      if (!failed?.some(Boolean)) throw error;
      // The job was restarted, or has a guardrail, or its counters moved under the guardrail: look at it again.
      if (failed[2]) await learnGuard();
      // Another report or the release of this authorization came first: plan again on what it left.
      if (failed[1]) state = await reread();
    }
  }
  throw new ThrottledError(1, 'This authorization kept changing while its results were recorded; retry');
}

/**
 * A programmer's report: the programmer (still there and active), its authorization and what
 * was reported for it are read in one strongly consistent round trip, then recorded.
 */
export async function reportResults(db: Db, accountId: string, programmerId: string, authorizationId: string, results: ResultInput[]): Promise<RecordedResults> {
  const [programmerItem, authorizationItem, reportedItem] = await getItems(
    db,
    db.table,
    [keys.programmer(accountId, programmerId), keys.authorization(accountId, authorizationId), keys.reportedUnits(accountId, authorizationId)],
    true,
  );
  activeProgrammer(programmerItem);
  const authorization = authorizationOf(programmerId, authorizationItem);
  return recordResults(db, accountId, authorization, results, toReportedState(authorization.units, reportedItem));
}

/** A job's results in arrival order (the cloud's clock); see feed.ts for cursors. */
export async function listResults(db: Db, accountId: string, jobId: string, query: FeedQuery, now = Date.now()): Promise<FeedPage<ResultView>> {
  const partition = keys.jobResultsPartition(accountId, jobId);
  const source = { table: db.events, partitionKey: 'pk', partitionValue: partition, sortKey: 'sk', startKey: (sk: string) => ({ pk: partition, sk }) };
  return readExpandedFeed(db, source, query, (item) => {
    const reportedAt = (item.sk as string).split('#')[0] as string;
    return decodeResultBatch(item.results as Uint8Array, Date.parse(reportedAt)).map((result) => ({
      authorizationId: item.authorizationId as string,
      programmerId: item.programmerId as string,
      serial: result.serial,
      status: result.status,
      errorCode: result.errorCode,
      durationMs: result.durationMs,
      at: result.at ?? reportedAt,
      reportedAt,
      run: Number(item.run),
    }));
  }, now);
}

