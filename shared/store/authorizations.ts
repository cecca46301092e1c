import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { authorizationDecision, deviceRefusal, isStaleReservation, leaseWindow, releaseOutcome } from '../domain/authorizations.js';
import { ConflictError, NotFoundError, ThrottledError, UnauthenticatedError } from '../domain/errors.js';
import { serialRange } from '../domain/jobs.js';
import { decodeJwsPayload } from '../domain/jws.js';
import { type Db, cancelledConditions, getItems, isConditionFailure } from './db.js';
import { withFaultRetry } from './faults.js';
import { type JobRecord, toJobRecord } from './jobs.js';
import { SK_PREFIX, keys } from './keys.js';
import { type ProgrammerView, toProgrammerView } from './programmers.js';

export interface AuthorizationView {
  authorizationId: string;
  jobId: string;
  units: number;
  serials: string[];
  expiresAt: string;
  ticket: string;
}

export interface ReleaseView {
  authorizationId: string;
  units: number;
  reported: number;
  returned: number;
}

/**
 * `pending`: claimed for its nonce, units possibly reserved, not yet granted; `granted`: the
 * programmer holds it; `released`: ended by the programmer; `abandoned`: its request died after
 * reserving and the reservation was rolled back (a retry of the nonce claims it anew).
 */
export type AuthorizationState = 'pending' | 'granted' | 'released' | 'abandoned';

export interface AuthorizationRecord extends AuthorizationView {
  programmerId: string;
  run: number;
  nonce: string;
  state: AuthorizationState;
  /** Epoch seconds of the claim: names its reservation in the job item. */
  claimedAt: number;
  /** Distinct results recorded for it. */
  reported: number;
  returnedSerials: string[];
  release?: ReleaseView;
}

/** Signs a ticket's payload (api.md: by a session key certified by the KMS root key, or by the root key itself). */
export interface TicketSigner {
  signTicket(payload: Record<string, unknown>): Promise<string>;
}

/** Checks that a binding JWS was signed by this cloud's binding key. */
export interface BindingVerifier {
  verify(jws: string): Promise<boolean>;
}

export interface AuthorizeDeps {
  db: Db;
  tickets: TicketSigner;
  bindings: BindingVerifier;
  /** Tests shorten it; in production a reservation is stale after STALE_RESERVATION_MS. */
  staleAfterMs?: number;
}

export interface AuthorizeInput {
  accountId: string;
  programmerId: string;
  jobId: string;
  units: number;
  nonce: string;
  binding?: string;
  validSeconds?: number;
}

/** One authorization per (programmer, nonce): its id is derived from them, so a retry finds it. */
export function authorizationIdFor(accountId: string, programmerId: string, nonce: string): string {
  return `auth_${createHash('sha256').update(`${accountId}\n${programmerId}\n${nonce}`).digest('hex').slice(0, 32)}`;
}

function toAuthorizationRecord(item: Record<string, unknown>): AuthorizationRecord {
  return {
    authorizationId: item.authorizationId as string,
    jobId: item.jobId as string,
    units: Number(item.units),
    serials: (item.serials as string[] | undefined) ?? [],
    expiresAt: (item.expiresAt as string | undefined) ?? '',
    ticket: (item.ticket as string | undefined) ?? '',
    programmerId: item.programmerId as string,
    run: Number(item.run ?? 0),
    nonce: item.nonce as string,
    // Authorizations recorded before leases existed were granted in one write.
    state: (item.state as AuthorizationState | undefined) ?? 'granted',
    claimedAt: Number(item.claimedAt ?? 0),
    reported: Number(item.reported ?? 0),
    returnedSerials: (item.returnedSerials as string[] | undefined) ?? [],
    release: item.release as ReleaseView | undefined,
  };
}

export function publicView(record: AuthorizationRecord): AuthorizationView {
  const { authorizationId, jobId, units, serials, expiresAt, ticket } = record;
  return { authorizationId, jobId, units, serials, expiresAt, ticket };
}

interface Snapshot {
  programmer?: ProgrammerView;
  job?: JobRecord;
  /** The job item as stored, with its reservation ledger. */
  jobItem?: Record<string, unknown>;
  existing?: AuthorizationRecord;
}

/** Programmer, job and any earlier authorization of this nonce: one strongly consistent round trip. */
async function readSnapshot(db: Db, input: AuthorizeInput, authorizationId: string): Promise<Snapshot> {
  const [programmer, job, existing] = await getItems(
    db,
    db.table,
    [keys.programmer(input.accountId, input.programmerId), keys.job(input.accountId, input.jobId), keys.authorization(input.accountId, authorizationId)],
    true,
  );
  return {
    programmer: programmer && toProgrammerView(programmer),
    job: job && toJobRecord(job),
    jobItem: job,
    existing: existing && toAuthorizationRecord(existing),
  };
}

async function bindingMatches(bindings: BindingVerifier, binding: string, input: AuthorizeInput, job: JobRecord): Promise<boolean> {
  const claims = decodeJwsPayload(binding);
  if (!claims || claims.iss !== 'flashline' || claims.acct !== input.accountId || claims.job !== job.jobId || claims.img !== job.imageId || claims.fac !== job.factoryId) {
    return false;
  }
  return bindings.verify(binding);
}

/** A nonce names one request: the same nonce with another job or unit count is a client bug, not a retry. */
function assertSameRequest(existing: AuthorizationRecord, input: AuthorizeInput): void {
  if (existing.jobId !== input.jobId || existing.units !== input.units) {
    throw new ConflictError('nonce_reused', 'This nonce was already used for another request; use a new nonce for each authorization', {
      authorizationId: existing.authorizationId,
    });
  }
}

/**
 * Per container: reservations whose authorization this container recorded, by job. The next
 * reservation on the same job removes their ledger attributes in the same write, so the ledger
 * costs no write of its own.
 */
const recordedReservations = new Map<string, Set<string>>();
const MAX_LEDGER_REMOVALS_PER_WRITE = 24;

function ledgerKey(accountId: string, jobId: string): string {
  return `${accountId}/${jobId}`;
}

function takeRecordedReservations(accountId: string, jobId: string): string[] {
  const pending = recordedReservations.get(ledgerKey(accountId, jobId));
  return pending ? [...pending].slice(0, MAX_LEDGER_REMOVALS_PER_WRITE) : [];
}

function noteRecordedReservation(accountId: string, jobId: string, attribute: string): void {
  const key = ledgerKey(accountId, jobId);
  const set = recordedReservations.get(key) ?? new Set<string>();
  set.add(attribute);
  recordedReservations.set(key, set);
  if (recordedReservations.size > 1_000) recordedReservations.delete(recordedReservations.keys().next().value as string);
}

function forgetRemovedReservations(accountId: string, jobId: string, removed: readonly string[]): void {
  const set = recordedReservations.get(ledgerKey(accountId, jobId));
  for (const attribute of removed) set?.delete(attribute);
}

type Reservation = { kind: 'reserved'; firstIndex: number; job: JobRecord; item: Record<string, unknown> } | { kind: 'changed'; job: JobRecord | undefined };

/**
 * The one write that reserves: adds the units to the job's `authorized` under its count limit
 * and moves its serial index, in a single atomic conditional update that DynamoDB serializes
 * (no read-decide-retry loop: concurrent callers never make each other fail). The same write
 * records the first serial index in the job's ledger under the claim's name, which makes it
 * idempotent per nonce: a retry after a crash finds its own reservation instead of taking a
 * second one.
 */
async function reserve(db: Db, input: AuthorizeInput, job: JobRecord, ledgerAttribute: string, now: Date): Promise<Reservation> {
  const removals = takeRecordedReservations(input.accountId, job.jobId).filter((name) => name !== ledgerAttribute);
  const names: Record<string, string> = { '#status': 'status', '#run': 'run', '#rsv': ledgerAttribute };
  removals.forEach((name, i) => {
    names[`#done${i}`] = name;
  });
  const limit = job.maxCount === null ? 'attribute_not_exists(maxCount)' : 'maxCount = :max AND authorized <= :lastAllowed';
  const output = await withFaultRetry(async () => {
    try {
      return await db.doc.send(
        new UpdateCommand({
          TableName: db.table,
          Key: keys.job(input.accountId, job.jobId),
          UpdateExpression: `SET authorized = authorized + :units, nextSerialIndex = nextSerialIndex + :units, updatedAt = :at, #rsv = nextSerialIndex${
            removals.length ? ` REMOVE ${removals.map((_, i) => `#done${i}`).join(', ')}` : ''
          }`,
          ConditionExpression: `#status = :active AND #run = :run AND attribute_not_exists(#rsv) AND ${limit}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':units': input.units,
            ':at': now.toISOString(),
            ':active': 'active',
            ':run': job.run,
            ...(job.maxCount !== null && { ':max': job.maxCount, ':lastAllowed': job.maxCount - input.units }),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { conditionFailedItem: (error as { Item?: Record<string, never> }).Item };
    }
  });
  if ('conditionFailedItem' in output) {
    const current = output.conditionFailedItem ? unmarshall(output.conditionFailedItem) : await readJobItem(db, input.accountId, job.jobId);
    const earlier = current?.[ledgerAttribute];
    // Our own earlier attempt reserved already (it crashed before recording, or a twin request is racing us).
    if (current && typeof earlier === 'number') return { kind: 'reserved', firstIndex: earlier, job: toJobRecord(current), item: current };
    return { kind: 'changed', job: current ? toJobRecord(current) : undefined };
  }
  forgetRemovedReservations(input.accountId, job.jobId, removals);
  const item = output.Attributes as Record<string, unknown>;
  return { kind: 'reserved', firstIndex: Number(item[ledgerAttribute]), job: toJobRecord(item), item };
}

async function readJobItem(db: Db, accountId: string, jobId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await withFaultRetry(() => db.doc.send(new GetCommand({ TableName: db.table, Key: keys.job(accountId, jobId), ConsistentRead: true })));
  return Item;
}

/**
 * The claim: the authorization item written first, `pending`, so the nonce is taken before any
 * unit is counted. A claim that was abandoned (its reservation rolled back) is claimed anew
 * under a new time, which names a new reservation.
 */
async function claim(db: Db, input: AuthorizeInput, authorizationId: string, job: JobRecord, previous: AuthorizationRecord | undefined, now: Date): Promise<number | undefined> {
  const claimedAt = Math.floor(now.getTime() / 1000);
  const item = {
    ...keys.authorization(input.accountId, authorizationId),
    type: 'authorization',
    authorizationId,
    jobId: input.jobId,
    programmerId: input.programmerId,
    nonce: input.nonce,
    units: input.units,
    run: job.run,
    state: 'pending',
    claimedAt,
    createdAt: now.toISOString(),
  };
  try {
    await withFaultRetry(() =>
      db.doc.send(
        new PutCommand({
          TableName: db.table,
          Item: item,
          ...(previous
            ? { ConditionExpression: '#state = :abandoned AND claimedAt = :previous', ExpressionAttributeNames: { '#state': 'state' }, ExpressionAttributeValues: { ':abandoned': 'abandoned', ':previous': previous.claimedAt } }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      ),
    );
    return claimedAt;
  } catch (error) {
    if (isConditionFailure(error)) return undefined; // a twin request claimed it first: read again
    throw error;
  }
}

/** The authorization becomes the programmer's: serials, lease and ticket recorded on its claim. */
async function grant(db: Db, accountId: string, record: AuthorizationRecord): Promise<boolean> {
  try {
    await withFaultRetry(() =>
      db.doc.send(
        new UpdateCommand({
          TableName: db.table,
          Key: keys.authorization(accountId, record.authorizationId),
          UpdateExpression: 'SET #state = :granted, serials = :serials, expiresAt = :expiresAt, ticket = :ticket, #run = :run, grantedAt = :at',
          ConditionExpression: '#state = :pending AND claimedAt = :claimedAt',
          ExpressionAttributeNames: { '#state': 'state', '#run': 'run' },
          ExpressionAttributeValues: {
            ':granted': 'granted',
            ':pending': 'pending',
            ':serials': record.serials,
            ':expiresAt': record.expiresAt,
            ':ticket': record.ticket,
            ':run': record.run,
            ':claimedAt': record.claimedAt,
            ':at': new Date().toISOString(),
          },
        }),
      ),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/**
 * A claim that reserved nothing (its request was refused after claiming) frees its nonce again:
 * it becomes `abandoned`, which the next claim of the nonce takes over (see `claim`). Marked, not
 * deleted, so the device function needs no dynamodb:DeleteItem at all.
 */
async function dropClaim(db: Db, accountId: string, authorizationId: string, claimedAt: number): Promise<void> {
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.authorization(accountId, authorizationId),
        UpdateExpression: 'SET #state = :abandoned, abandonedAt = :at',
        ConditionExpression: '#state = :pending AND claimedAt = :claimedAt',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':abandoned': 'abandoned', ':pending': 'pending', ':claimedAt': claimedAt, ':at': new Date().toISOString() },
      }),
    );
  } catch {
    // Best effort: a pending claim without a reservation is harmless, a retry of the nonce goes on from it.
  }
}

/** How many times one request decides anew after a change it could not foresee (a twin request, a restart, a new limit). */
const MAX_PASSES = 4;

/**
 * Permission to program `units` units. Writes, in order: the claim of the nonce (authorization
 * item, `pending`), the reservation (one atomic conditional update of the job, see `reserve`),
 * the grant (serials, lease, ticket on the claim). A crash between any two leaves nothing
 * counted that no authorization holds: before the reservation nothing is counted; after it,
 * the job's ledger names the claim and its first serial index, so a retry of the nonce finishes
 * the same reservation, and if no retry comes, the next authorization on the job finds the stale
 * ledger entry and rolls it back (`recoverStaleReservations`).
 */
export async function authorizeUnits(deps: AuthorizeDeps, input: AuthorizeInput, now = new Date()): Promise<{ authorization: AuthorizationView; created: boolean }> {
  const { db } = deps;
  const authorizationId = authorizationIdFor(input.accountId, input.programmerId, input.nonce);

  for (let pass = 1; pass <= MAX_PASSES; pass += 1) {
    const { programmer, job, jobItem, existing } = await readSnapshot(db, input, authorizationId);
    if (existing) {
      assertSameRequest(existing, input);
      // A retried nonce gets what it was given, whatever the job's state by now.
      if (existing.state === 'granted' || existing.state === 'released') return { authorization: publicView(existing), created: false };
    }
    // A deprovisioned programmer whose token is still cached by the authorizer.
    if (!programmer) throw new UnauthenticatedError('These programmer credentials are no longer valid');
    if (!job || !jobItem) throw new NotFoundError('Job');
    // An earlier attempt of this nonce that reserved and then died: its units are counted already,
    // so only the programmer and the job's existence are checked again, not the limit.
    const earlierLedger = existing?.state === 'pending' ? keys.reservationAttribute(existing.claimedAt, authorizationId) : undefined;
    const earlierIndex = earlierLedger === undefined ? undefined : jobItem[earlierLedger];
    const refusal = typeof earlierIndex === 'number' ? deviceRefusal(programmer, job) : authorizationDecision(programmer, job, input.units, now);
    if (refusal) throw refusal;
    if (input.binding !== undefined && !(await bindingMatches(deps.bindings, input.binding, input, job))) {
      throw new ConflictError('binding_mismatch', 'The binding was not issued by this cloud for this job, account and factory');
    }
    const lease = leaseWindow(job, input.validSeconds, now);

    const claimedAt = existing?.state === 'pending' ? existing.claimedAt : await claim(db, input, authorizationId, job, existing, now);
    if (claimedAt === undefined) continue;
    const ledgerAttribute = keys.reservationAttribute(claimedAt, authorizationId);

    const reservation: Reservation =
      typeof earlierIndex === 'number' ? { kind: 'reserved', firstIndex: earlierIndex, job, item: jobItem } : await reserve(db, input, job, ledgerAttribute, now);
    if (reservation.kind === 'changed') {
      // The job changed since we read it (paused, limit reached, restarted): decide on what is there now.
      const current = reservation.job;
      const changedRefusal = current ? authorizationDecision(programmer, current, input.units, now) : new NotFoundError('Job');
      if (changedRefusal) {
        await dropClaim(db, input.accountId, authorizationId, claimedAt);
        throw changedRefusal;
      }
      continue;
    }
    await recoverStaleReservations(db, input.accountId, reservation.item, now, deps.staleAfterMs, ledgerAttribute);

    const reserved = reservation.job;
    const serials = serialRange({ start: reserved.serialStart, step: reserved.serialStep, format: reserved.serialFormat }, reservation.firstIndex, input.units);
    const ticket = await withFaultRetry(() => deps.tickets.signTicket({
      iss: 'flashline',
      sub: input.programmerId,
      acct: input.accountId,
      job: reserved.jobId,
      img: reserved.imageId,
      units: input.units,
      serials,
      nonce: input.nonce,
      exp: lease.exp,
      iat: lease.iat,
      jti: authorizationId,
    }));
    const record: AuthorizationRecord = {
      authorizationId,
      jobId: reserved.jobId,
      units: input.units,
      serials,
      expiresAt: new Date(lease.exp * 1000).toISOString(),
      ticket,
      programmerId: input.programmerId,
      run: reserved.run,
      nonce: input.nonce,
      state: 'granted',
      claimedAt,
      reported: 0,
      returnedSerials: [],
    };
    if (await grant(db, input.accountId, record)) {
      noteRecordedReservation(input.accountId, reserved.jobId, ledgerAttribute);
      return { authorization: publicView(record), created: true };
    }
    // A twin request granted it first (read it back), or our reservation was rolled back as stale (claim anew).
  }
  throw new ThrottledError(1, 'This authorization kept changing under concurrent requests; retry with the same nonce');
}

/**
 * Rolls back reservations whose requests died: ledger entries older than the stale limit whose
 * claim is still pending. Their units go back to the job (in the same run) and the claim becomes
 * `abandoned`, atomically. Entries of claims that were granted only lost their cleanup: they are
 * removed. At most a few per call, so one request never pays for many.
 */
export async function recoverStaleReservations(db: Db, accountId: string, jobItem: Record<string, unknown>, now: Date, staleAfterMs?: number, except?: string): Promise<number> {
  const stale = Object.keys(jobItem)
    .filter((name) => name !== except)
    .flatMap((name) => {
      const parsed = keys.parseReservationAttribute(name);
      return parsed && isStaleReservation(parsed.claimedAtSeconds, now, staleAfterMs) ? [{ name, ...parsed }] : [];
    })
    .slice(0, 3);
  let recovered = 0;
  for (const entry of stale) {
    const { Item } = await withFaultRetry(() =>
      db.doc.send(new GetCommand({ TableName: db.table, Key: keys.authorization(accountId, entry.authorizationId), ConsistentRead: true })),
    );
    const claimItem = Item && toAuthorizationRecord(Item);
    const jobKey = keys.job(accountId, jobItem.jobId as string);
    const ownsEntry = claimItem?.state === 'pending' && claimItem.claimedAt === entry.claimedAtSeconds;
    try {
      if (!ownsEntry) {
        await db.doc.send(
          new UpdateCommand({
            TableName: db.table,
            Key: jobKey,
            UpdateExpression: 'REMOVE #rsv',
            ConditionExpression: 'attribute_exists(#rsv)',
            ExpressionAttributeNames: { '#rsv': entry.name },
          }),
        );
        continue;
      }
      await db.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: db.table,
                Key: keys.authorization(accountId, entry.authorizationId),
                UpdateExpression: 'SET #state = :abandoned, abandonedAt = :at',
                ConditionExpression: '#state = :pending AND claimedAt = :claimedAt',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':abandoned': 'abandoned', ':pending': 'pending', ':claimedAt': entry.claimedAtSeconds, ':at': now.toISOString() },
              },
            },
            {
              Update: {
                TableName: db.table,
                Key: jobKey,
                // Units counted in an earlier run were reset by the restart: only the entry goes.
                UpdateExpression: claimItem.run === Number(jobItem.run) ? 'SET authorized = authorized - :units, updatedAt = :at REMOVE #rsv' : 'REMOVE #rsv',
                ConditionExpression: 'attribute_exists(#rsv)',
                ExpressionAttributeNames: { '#rsv': entry.name },
                ...(claimItem.run === Number(jobItem.run) && { ExpressionAttributeValues: { ':units': claimItem.units, ':at': now.toISOString() } }),
              },
            },
          ],
        }),
      );
      recovered += 1;
    } catch (error) {
      // Someone else recovered or finished it meanwhile; a transient fault leaves it for the next caller.
      if (isConditionFailure(error) || cancelledConditions(error)) continue;
      throw error;
    }
  }
  return recovered;
}

/** An authorization of this programmer, for reporting its results or releasing it. */
export async function getAuthorizationRecord(db: Db, accountId: string, programmerId: string, authorizationId: string): Promise<AuthorizationRecord> {
  const { Item } = await withFaultRetry(() =>
    db.doc.send(new GetCommand({ TableName: db.table, Key: keys.authorization(accountId, authorizationId), ConsistentRead: true })),
  );
  const record = Item && toAuthorizationRecord(Item);
  // Claims not (or no longer) granted are nobody's authorization yet.
  if (!record || record.programmerId !== programmerId || record.state === 'pending' || record.state === 'abandoned') throw new NotFoundError('Authorization');
  return record;
}

/** Serials of this authorization that have a recorded result. */
async function reportedSerials(db: Db, accountId: string, authorizationId: string): Promise<Set<string>> {
  const serials = new Set<string>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const output = await withFaultRetry(() =>
      db.doc.send(
        new QueryCommand({
          TableName: db.events,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': keys.result(accountId, authorizationId, '').pk, ':prefix': SK_PREFIX.result },
          ProjectionExpression: 'serial',
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    for (const item of output.Items ?? []) serials.add(item.serial as string);
    startKey = output.LastEvaluatedKey;
  } while (startKey);
  return serials;
}

/**
 * Ends an authorization: its units without a reported result go back to the job (`authorized`
 * falls, `returned` grows), in one transaction with the authorization's own state. The
 * authorization's `reported` counter (moved by every results write) must still be what we
 * counted, so a result arriving meanwhile makes us count again instead of returning its unit.
 */
export async function releaseAuthorization(db: Db, accountId: string, programmerId: string, authorizationId: string, now = new Date()): Promise<ReleaseView> {
  for (let pass = 1; pass <= MAX_PASSES; pass += 1) {
    const record = await getAuthorizationRecord(db, accountId, programmerId, authorizationId);
    if (record.state === 'released' && record.release) return record.release;
    const reported = await reportedSerials(db, accountId, authorizationId);
    const outcome = releaseOutcome(record.serials, reported);
    const release: ReleaseView = { authorizationId, units: record.units, reported: outcome.reported, returned: outcome.returned };
    const at = now.toISOString();
    const authorizationUpdate = {
      Update: {
        TableName: db.table,
        Key: keys.authorization(accountId, authorizationId),
        UpdateExpression: 'SET #state = :released, releasedAt = :at, returnedSerials = :returnedSerials, #release = :release',
        ConditionExpression: `#state = :granted AND ${outcome.reported === 0 ? '(attribute_not_exists(reported) OR reported = :reported)' : 'reported = :reported'}`,
        ExpressionAttributeNames: { '#state': 'state', '#release': 'release' },
        ExpressionAttributeValues: {
          ':released': 'released',
          ':granted': 'granted',
          ':at': at,
          ':returnedSerials': outcome.returnedSerials,
          ':release': release,
          ':reported': outcome.reported,
        },
      },
    };
    const jobUpdate = {
      Update: {
        TableName: db.table,
        Key: keys.job(accountId, record.jobId),
        UpdateExpression: 'SET authorized = authorized - :returned, updatedAt = :at ADD #returned :returned',
        // Counters belong to a run: after a restart the old run's units are no longer counted anywhere.
        ConditionExpression: '#run = :run',
        ExpressionAttributeNames: { '#run': 'run', '#returned': 'returned' },
        ExpressionAttributeValues: { ':returned': outcome.returned, ':run': record.run, ':at': at },
      },
    };
    let countInRun = outcome.returned > 0;
    for (;;) {
      try {
        await withFaultRetry(() => db.doc.send(new TransactWriteCommand({ TransactItems: countInRun ? [authorizationUpdate, jobUpdate] : [authorizationUpdate] })));
        return release;
      } catch (error) {
        const failed = cancelledConditions(error);
        if (!failed) throw error;
        if (failed[0]) break; // a result or another release came in between: count again
        countInRun = false; // the job was restarted: only the authorization changes
      }
    }
  }
  throw new ThrottledError(1, 'This authorization kept changing while being released; retry');
}
