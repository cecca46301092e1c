import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { UidPolicy } from '../domain/uids.js';
import { randomUUID } from 'node:crypto';
import { DEFAULT_LEASE_SECONDS, targetRefusal } from '../domain/authorizations.js';
import { ConflictError, NotFoundError, StateConflictError } from '../domain/errors.js';
import { type JobAction, type JobState, type JobStatus, applyTransition, effectiveStatus, remainingUnits, serialAt, serialSettingsProblems } from '../domain/jobs.js';
import { type AutoPause, storedAutoPause } from '../domain/guardrail.js';
import type { UnitFieldDefinition } from '../domain/unit-data.js';
import { auditItem } from './audit.js';
import { factoryCounterUpdate } from './factories.js';
import { failedGroupCheck, groupChecks } from './groups.js';
import { type Db, cancelledConditions, getItems, isConditionFailure } from './db.js';
import { withFaultRetry } from './faults.js';
import { type ImageView, toImageView } from './images.js';
import { SK_PREFIX, keys } from './keys.js';
import { type Page, type PageRequest, accountPage, factoryPage, itemsOf } from './pages.js';
import { type UnitFieldInput, resolveUnitFields, toUnitFieldInput } from './unit-fields.js';
import { type FactoryScope, seesFactory } from '../domain/factory-scope.js';

export type OnFailure = 'consume' | 'return';

export interface JobView {
  jobId: string;
  imageId: string;
  factoryId: string;
  name: string;
  status: JobStatus;
  imageVersion: number;
  targetGroupIds: string[] | null;
  restrictions: { maxCount: number | null; notBefore: string | null; notAfter: string | null; maxLeaseSeconds: number; autoPause: AutoPause | null };
  serials: { start: number; step: number; format: string; next: string };
  unitFields: UnitFieldInput[];
  onFailure: OnFailure;
  uidPolicy: UidPolicy;
  run: number;
  counters: { authorized: number; succeeded: number; failed: number; returned: number; remaining: number | null };
  createdAt: string;
  updatedAt: string;
}

/** The job item as stored; `nextSerialIndex` counts every unit ever authorized and never resets. */
export interface JobRecord extends JobState {
  jobId: string;
  imageId: string;
  factoryId: string;
  name: string;
  /** Counts replaces: 1 until the first. */
  imageVersion: number;
  /** The programmer groups the job is for; null: every programmer of its factory. */
  targetGroupIds: string[] | null;
  serialStart: number;
  serialStep: number;
  serialFormat: string;
  nextSerialIndex: number;
  succeeded: number;
  failed: number;
  /** Units given back by releases in this run. */
  returned: number;
  /** Longest lease a programmer may ask for; null: the default ten minutes. */
  maxLeaseSeconds: number | null;
  /** The yield guardrail; null: none. */
  autoPause: AutoPause | null;
  delivery: 'direct' | 'cloud';
  encryptionKeyId: string | null;
  /** Per-unit data: each field's source and what renders its values. */
  unitFields: UnitFieldDefinition[];
  onFailure: OnFailure;
  /** Chip UIDs: absent on the item means `none` (jobs before UIDs, and jobs that never set it). */
  uidPolicy: UidPolicy;
  createdAt: string;
  updatedAt: string;
}

export function toJobRecord(item: Record<string, unknown>): JobRecord {
  return {
    jobId: item.jobId as string,
    imageId: item.imageId as string,
    factoryId: item.factoryId as string,
    name: item.name as string,
    imageVersion: Number(item.imageVersion ?? 1),
    targetGroupIds: (item.targetGroups as string | undefined)?.split(',') ?? null,
    status: item.status as JobRecord['status'],
    maxCount: (item.maxCount as number | undefined) ?? null,
    notBefore: (item.notBefore as string | undefined) ?? null,
    notAfter: (item.notAfter as string | undefined) ?? null,
    run: Number(item.run),
    authorized: Number(item.authorized ?? 0),
    succeeded: Number(item.succeeded ?? 0),
    failed: Number(item.failed ?? 0),
    returned: Number(item.returned ?? 0),
    maxLeaseSeconds: (item.maxLeaseSeconds as number | undefined) ?? null,
    autoPause: storedAutoPause(item),
    serialStart: Number(item.serialStart),
    serialStep: Number(item.serialStep),
    serialFormat: item.serialFormat as string,
    nextSerialIndex: Number(item.nextSerialIndex ?? 0),
    delivery: item.delivery as JobRecord['delivery'],
    encryptionKeyId: (item.encryptionKeyId as string | undefined) ?? null,
    unitFields: (item.unitFields as UnitFieldDefinition[] | undefined) ?? [],
    onFailure: (item.onFailure as OnFailure | undefined) ?? 'consume',
    uidPolicy: (item.uidPolicy as UidPolicy | undefined) ?? 'none',
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}

export function toJobView(job: JobRecord, now = new Date()): JobView {
  const rule = { start: job.serialStart, step: job.serialStep, format: job.serialFormat };
  return {
    jobId: job.jobId,
    imageId: job.imageId,
    factoryId: job.factoryId,
    name: job.name,
    status: effectiveStatus(job, now),
    imageVersion: job.imageVersion,
    targetGroupIds: job.targetGroupIds,
    restrictions: { maxCount: job.maxCount, notBefore: job.notBefore, notAfter: job.notAfter, maxLeaseSeconds: job.maxLeaseSeconds ?? DEFAULT_LEASE_SECONDS, autoPause: job.autoPause },
    serials: { ...rule, next: serialAt(rule, job.nextSerialIndex) },
    unitFields: job.unitFields.map(toUnitFieldInput),
    onFailure: job.onFailure,
    uidPolicy: job.uidPolicy,
    run: job.run,
    counters: { authorized: job.authorized, succeeded: job.succeeded, failed: job.failed, returned: job.returned, remaining: remainingUnits(job) },
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
  };
}

export async function getJobRecord(db: Db, accountId: string, jobId: string, consistent = true): Promise<JobRecord> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.job(accountId, jobId), ConsistentRead: consistent }));
  if (!Item) throw new NotFoundError('Job');
  return toJobRecord(Item);
}

export async function getJob(db: Db, accountId: string, jobId: string): Promise<JobView> {
  return toJobView(await getJobRecord(db, accountId, jobId));
}

/**
 * Jobs of the account or of one factory. Status is derived (completed, expired), so it is
 * filtered while the page is filled (pages.ts): pages are full but for the last. Deleted jobs
 * are listed only when asked for by status; they have left the factory index (transitionJob),
 * so a factory's deleted jobs are read from the account's jobs, in the same id order and with
 * the same cursors as the factory's list.
 */
/** A principal limited to factories lists only their jobs. */
export async function listJobs(db: Db, accountId: string, query: PageRequest & { factoryId?: string; status?: JobStatus }, scope: FactoryScope = {}): Promise<Page<JobView>> {
  const now = new Date();
  const toView = (item: Record<string, unknown>) => toJobView(toJobRecord(item), now);
  const keep = (job: JobView) => (query.status ? job.status === query.status : job.status !== 'deleted') && seesFactory(scope, job.factoryId);
  if (query.factoryId) {
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.factory(accountId, query.factoryId) }));
    if (!Item) throw new NotFoundError('Factory');
    if (query.status === 'deleted') {
      const factoryId = query.factoryId;
      const listedAs = keys.factoryIndex(accountId, factoryId);
      return accountPage(db, accountId, SK_PREFIX.job, query, toView, (job) => keep(job) && job.factoryId === factoryId, listedAs);
    }
    return factoryPage(db, accountId, query.factoryId, SK_PREFIX.job, query, toView, keep);
  }
  return accountPage(db, accountId, SK_PREFIX.job, query, toView, keep);
}

/**
 * Pause, resume, restart or delete. The write is conditioned on the run and status we read, so
 * a concurrent change can never be overwritten by a decision made on stale state.
 */
export async function transitionJob(
  db: Db,
  accountId: string,
  jobId: string,
  action: JobAction,
  actor: string,
  attempt = 1,
): Promise<{ job: JobView; record: JobRecord }> {
  const current = await getJobRecord(db, accountId, jobId);
  const now = new Date();
  const at = now.toISOString();
  const nextStatus = applyTransition(current, action, now);
  const restart = action === 'restart';
  const update = {
    Update: {
      TableName: db.table,
      Key: keys.job(accountId, jobId),
      UpdateExpression: restart
        ? // Reservations still in the ledger from before (lower serial indexes) count in no run any more.
          'SET #status = :next, #run = #run + :one, authorized = :zero, succeeded = :zero, failed = :zero, #returned = :zero, runStartIndex = nextSerialIndex, updatedAt = :at, statusChangedBy = :actor'
        : action === 'delete'
          ? // Out of the factory index for good (deleted is final): programmers' job lists never read it again.
            'SET #status = :next, updatedAt = :at, statusChangedBy = :actor REMOVE gsi2pk, gsi2sk'
          : // Who changed it travels with the change: its event names them (domain/events.ts).
            'SET #status = :next, updatedAt = :at, statusChangedBy = :actor',
      ConditionExpression: '#status = :current AND #run = :run',
      ExpressionAttributeNames: { '#status': 'status', '#run': 'run', ...(restart && { '#returned': 'returned' }) },
      ExpressionAttributeValues: {
        ':next': nextStatus,
        ':current': current.status,
        ':run': current.run,
        ':at': at,
        ':actor': actor,
        ...(restart && { ':one': 1, ':zero': 0 }),
      },
    },
  };
  const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
    update,
    auditItem(db, { accountId, actor, action: `job.${action}`, targetType: 'job', targetId: jobId, details: { run: current.run, from: effectiveStatus(current, now) } }, at),
  ];
  if (action === 'delete') {
    items.push(factoryCounterUpdate(db, accountId, current.factoryId, 'openJobCount', -1, at));
  }
  // One token per decision, kept by every resend of it (the SDK's and withFaultRetry's): a resend
  // of a transaction DynamoDB already committed is answered without being applied again. Two
  // requests never share one, even on the same state: their audit items differ, and the same
  // token with other items is refused (IdempotentParameterMismatch) where the second request
  // must instead lose the condition and be decided again (a pause of a paused job is a 409).
  const clientRequestToken = randomUUID();
  try {
    await withFaultRetry(() => db.doc.send(new TransactWriteCommand({ TransactItems: items, ClientRequestToken: clientRequestToken })));
  } catch (error) {
    if (cancelledConditions(error)?.[0] && attempt < 10) {
      // Someone else changed the job meanwhile (an authorization, another operator): decide again on what is there now.
      return transitionJob(db, accountId, jobId, action, actor, attempt + 1);
    }
    throw error;
  }
  const record: JobRecord = restart
    ? { ...current, status: nextStatus, run: current.run + 1, authorized: 0, succeeded: 0, failed: 0, returned: 0, updatedAt: at }
    : { ...current, status: nextStatus, updatedAt: at };
  return { job: toJobView(record, now), record };
}

export interface JobUpdate {
  restrictions?: { maxCount?: number; notBefore?: string; notAfter?: string; maxLeaseSeconds?: number; autoPause?: AutoPause | null };
  unitFields?: UnitFieldInput[];
  onFailure?: OnFailure;
  uidPolicy?: UidPolicy;
  /** null: every programmer of the factory again. */
  targetGroupIds?: string[] | null;
}

/**
 * PATCH /v1/jobs/{jobId}: restrictions at any time, unit fields and onFailure only while no unit
 * was ever authorized. One conditional update with the audit record: `authorized <= maxCount`
 * keeps the limit from falling below what programmers hold, and `nextSerialIndex = 0` (no unit
 * ever reserved) keeps the data of granted units tied to the fields they were granted with.
 */
export async function updateJob(db: Db, accountId: string, jobId: string, update: JobUpdate, actor: string): Promise<JobView> {
  const current = await getJobRecord(db, accountId, jobId);
  if (current.status === 'deleted') throw new ConflictError('invalid_transition', 'Cannot change a job that is deleted', { status: 'deleted' });
  const changesData = update.unitFields !== undefined || update.onFailure !== undefined || update.uidPolicy !== undefined;
  if (changesData && current.nextSerialIndex > 0) throw jobStarted();
  const restrictions = update.restrictions ?? {};
  const maxCount = restrictions.maxCount ?? current.maxCount;
  const notBefore = restrictions.notBefore ?? current.notBefore;
  const notAfter = restrictions.notAfter ?? current.notAfter;
  // Both rules weigh the change against what the job already holds (its other date, its serial
  // rule and position): a conflict with its state, 409 naming the field, not a 400 for a body the
  // schema accepts. Both dates in one body are the schema's rule (400).
  if (notBefore !== null && notAfter !== null && Date.parse(notBefore) >= Date.parse(notAfter)) {
    const path = restrictions.notAfter !== undefined ? 'restrictions.notAfter' : 'restrictions.notBefore';
    throw new StateConflictError('invalid_transition', `${path}: the job would end before it starts`, [{ path, message: `must leave notAfter later than notBefore (the job has ${notBefore} – ${notAfter})` }]);
  }
  if (restrictions.maxCount !== undefined) {
    const problems = serialSettingsProblems({ start: current.serialStart, step: current.serialStep, format: current.serialFormat }, current.nextSerialIndex + maxCount!);
    if (problems.length > 0) throw new StateConflictError('invalid_transition', `restrictions.maxCount: ${problems[0]!.message}`, problems.map((problem) => ({ ...problem, path: 'restrictions.maxCount' })));
    if (maxCount! < current.authorized) throw limitBelowAuthorized(current.authorized);
  }
  const unitFields = update.unitFields && (await resolveUnitFields(db, accountId, update.unitFields));
  const targets = update.targetGroupIds ?? [];
  const checks = await groupChecks(db, accountId, current.factoryId, targets);
  const at = new Date().toISOString();
  const sets: string[] = ['updatedAt = :at'];
  const values: Record<string, unknown> = { ':at': at, ':deleted': 'deleted' };
  const conditions = ['#status <> :deleted'];
  const set = (attribute: string, value: unknown) => {
    sets.push(`${attribute} = :${attribute}`);
    values[`:${attribute}`] = value;
  };
  if (restrictions.maxCount !== undefined) {
    set('maxCount', restrictions.maxCount);
    conditions.push('authorized <= :maxCount');
  }
  if (restrictions.notBefore !== undefined) set('notBefore', restrictions.notBefore);
  if (restrictions.notAfter !== undefined) set('notAfter', restrictions.notAfter);
  if (restrictions.maxLeaseSeconds !== undefined) set('maxLeaseSeconds', restrictions.maxLeaseSeconds);
  const removals: string[] = [];
  if (restrictions.autoPause === null) removals.push('autoPauseFailureRate', 'autoPauseMinUnits');
  if (restrictions.autoPause) {
    set('autoPauseFailureRate', restrictions.autoPause.failureRate);
    set('autoPauseMinUnits', restrictions.autoPause.minUnits);
  }
  if (unitFields) set('unitFields', unitFields);
  if (update.onFailure) set('onFailure', update.onFailure);
  if (update.uidPolicy) set('uidPolicy', update.uidPolicy);
  // One string, so the reservation's condition can compare it (authorizations.ts decidedOn).
  if (update.targetGroupIds === null) removals.push('targetGroups');
  if (update.targetGroupIds) set('targetGroups', update.targetGroupIds.join());
  if (changesData) {
    conditions.push('nextSerialIndex = :never');
    values[':never'] = 0;
  }
  try {
    await withFaultRetry(() =>
      db.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: db.table,
                Key: keys.job(accountId, jobId),
                UpdateExpression: `SET ${sets.join(', ')}${removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''}`,
                ConditionExpression: conditions.join(' AND '),
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: values,
              },
            },
            auditItem(db, { accountId, actor, action: 'job.update', targetType: 'job', targetId: jobId, details: { ...update } }, at),
            ...checks,
          ],
        }),
      ),
    );
  } catch (error) {
    const groupGone = failedGroupCheck(error, 2, targets);
    if (groupGone) throw groupGone;
    if (!cancelledConditions(error)?.[0] && !isConditionFailure(error)) throw error;
    // Programmers moved the job meanwhile: say why against what is there now.
    const now = await getJobRecord(db, accountId, jobId);
    if (now.status === 'deleted') throw new ConflictError('invalid_transition', 'Cannot change a job that is deleted', { status: 'deleted' });
    if (changesData && now.nextSerialIndex > 0) throw jobStarted();
    throw limitBelowAuthorized(now.authorized);
  }
  return getJob(db, accountId, jobId);
}

const jobStarted = () => new ConflictError('job_started', 'Unit fields, onFailure and uidPolicy can change only before the first authorization of the job');
const limitBelowAuthorized = (authorized: number) =>
  new ConflictError('invalid_transition', `maxCount cannot go below the ${authorized} unit(s) already authorized`, { authorized });

export interface DeviceJobView extends JobView {
  image: ImageView;
  delivery: 'direct' | 'cloud';
}

/**
 * The jobs a programmer of this factory may work on now: active, with their image metadata.
 * The factory index (gsi2) holds the factory's jobs that are not deleted: active and paused ones,
 * and those completed or expired, which stay because both are derived and can end (a release
 * gives units back, a restart begins a new run) and because nothing writes the job at the
 * moment it expires. Deleted jobs, final, leave it in the deleting write.
 */
export async function listActiveFactoryJobs(db: Db, accountId: string, programmer: { factoryId: string; groupIds?: readonly string[] }): Promise<DeviceJobView[]> {
  const gsi2pk = keys.factoryIndex(accountId, programmer.factoryId);
  const now = new Date();
  const jobs: JobRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const output = await db.doc.send(
      new QueryCommand({
        TableName: db.table,
        IndexName: 'gsi2',
        KeyConditionExpression: 'gsi2pk = :pk AND begins_with(gsi2sk, :prefix)',
        ExpressionAttributeValues: { ':pk': gsi2pk, ':prefix': SK_PREFIX.job },
        ExclusiveStartKey: startKey,
      }),
    );
    const items = await itemsOf(db, output.Items ?? []);
    // A job aimed at other groups is not this programmer's to see (it would be refused not_in_target_group).
    jobs.push(...items.flatMap((item) => (item ? [toJobRecord(item)] : [])).filter((job) => effectiveStatus(job, now) === 'active' && !targetRefusal(programmer, job)));
    startKey = output.LastEvaluatedKey;
  } while (startKey);
  if (jobs.length === 0) return [];

  const imageItems = await getItems(db, db.table, jobs.map((job) => keys.image(accountId, job.imageId)), false);
  const images = new Map(imageItems.flatMap((item) => (item ? [[item.imageId as string, toImageView(item)] as const] : [])));
  return jobs.flatMap((job) => {
    const image = images.get(job.imageId);
    return image ? [{ ...toJobView(job, now), image, delivery: job.delivery }] : [];
  });
}
