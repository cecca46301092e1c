import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type BindingFit, authorizationDecision, bindingFit, deviceRefusal, imageReplaced, isStaleReservation, leaseWindow } from '../domain/authorizations.js';
import { releaseOutcome } from '../domain/reports.js';
import { ConflictError, NotFoundError, ThrottledError, UnauthenticatedError } from '../domain/errors.js';
import { authorizationRefusal, serialRange } from '../domain/jobs.js';
import { decodeJwsPayload } from '../domain/jws.js';
import { type IndexRuns, type UnitDataEntry, type UnitFieldDefinition, buildUnitData, unitDataDigest } from '../domain/unit-data.js';
import { authorizationUids, normalizeUid } from '../domain/uids.js';
import { compactText, expandText } from './compression.js';
import { type Db, cancelledConditions, getItems, isConditionFailure, putItems } from './db.js';
import { withFaultRetry } from './faults.js';
import { type JobRecord, toJobRecord } from './jobs.js';
import { keys } from './keys.js';
import { type ProgrammerView, toProgrammerView } from './programmers.js';
import { type ReportedState, reportedUnitsWrite, toReportedState } from './results.js';
import { drawUnitValues } from './unit-fields.js';
import { type UidScope, claimUids, releaseUidClaims } from './uid-claims.js';
import type { AccountDataKeys } from './account-data-keys.js';
import { listRowsOf } from './data-list-rows.js';
import { unitIndexItems } from './unit-index.js';

export interface AuthorizationView {
  authorizationId: string;
  jobId: string;
  units: number;
  serials: string[];
  /** Per-unit data in the order of `serials` (v1.1); the ticket's `ud` is its digest. */
  unitData: UnitDataEntry[];
  /** Chip UIDs of a UID job's units, in the order of `serials` (the ticket binds them). */
  uids?: string[];
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
 * `granted`: the programmer holds it; `released`: ended by the programmer; `abandoned`: a
 * tombstone, its request died after reserving and the reservation was given back (a retry of the
 * nonce reserves anew); `pending`: a claim written by versions before v1.1, never granted.
 */
export type AuthorizationState = 'pending' | 'granted' | 'released' | 'abandoned';

export interface AuthorizationRecord extends Omit<AuthorizationView, 'unitData'> {
  programmerId: string;
  run: number;
  nonce: string;
  state: AuthorizationState;
  /** Serial index of its first unit: names the reservation that it holds. */
  firstIndex?: number;
  /** For a tombstone: when it was written; a grant replaces exactly the tombstone it read. */
  abandonedAt?: string;
  release?: ReleaseView;
  /** The job's unit fields as granted, and the source indexes each field gave this authorization's units. */
  unitFields: UnitFieldDefinition[];
  unitDraws: IndexRuns[];
  /** The job's onFailure when granted: with `return`, failed units' values and counts go back. */
  onFailure: 'consume' | 'return';
  /** The job's uidPolicy when granted, for a UID job: its claims' scope. */
  uidPolicy?: UidScope['policy'];
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
  /** The container's memory of jobs it reserved on: without it, every authorization reads first. */
  jobs?: JobMemory;
  /** Opens data-list rows' secret columns; needed only for jobs with a data-list field. */
  dataKeys?: AccountDataKeys;
}

export interface AuthorizeInput {
  accountId: string;
  programmerId: string;
  jobId: string;
  units: number;
  nonce: string;
  binding?: string;
  validSeconds?: number;
  uids?: string[];
}

/** One authorization per (programmer, nonce): its id is derived from them, so a retry finds it. */
export function authorizationIdFor(accountId: string, programmerId: string, nonce: string): string {
  return `auth_${createHash('sha256').update(`${accountId}\n${programmerId}\n${nonce}`).digest('hex').slice(0, 32)}`;
}

/**
 * A ticket as stored: its header and payload decoded and compressed together (the payload lists
 * every serial and is most of a ticket's bytes), the signature as raw bytes, and the session
 * key's certificate (`crt`, the same in every ticket of a container) kept once per session key
 * instead of in every authorization. Base64url of the same bytes is unique, so the ticket given
 * back to a retried nonce is byte for byte the one issued; a ticket that would not come back
 * exactly is stored whole. This keeps a 1,000-unit authorization item at one write unit.
 */
interface TicketParts {
  /** `[header JSON with crt emptied, payload JSON]` as JSON; Brotli. */
  ticketText: Uint8Array;
  ticketSignature: Uint8Array;
  /** The session key whose certificate goes back into the header. */
  ticketCertificateKid?: string;
}

const NO_CERTIFICATE = '';

function splitTicket(ticket: string): { parts: TicketParts; certificate?: { kid: string; crt: string } } | undefined {
  const [header, payload, signature] = ticket.split('.');
  if (header === undefined || payload === undefined || signature === undefined) return undefined;
  const headerJson = Buffer.from(header, 'base64url').toString('utf8');
  const parsed = JSON.parse(headerJson) as { kid?: unknown; crt?: unknown };
  const certificate = typeof parsed.crt === 'string' && typeof parsed.kid === 'string' ? { kid: parsed.kid, crt: parsed.crt } : undefined;
  const headerText = certificate ? headerJson.replace(JSON.stringify(certificate.crt), JSON.stringify(NO_CERTIFICATE)) : headerJson;
  const parts: TicketParts = {
    ticketText: compactText(JSON.stringify([headerText, Buffer.from(payload, 'base64url').toString('utf8')])),
    ticketSignature: Buffer.from(signature, 'base64url'),
    ...(certificate && { ticketCertificateKid: certificate.kid }),
  };
  return joinTicket(parts, certificate?.crt) === ticket ? { parts, certificate } : undefined;
}

function joinTicket(parts: TicketParts, crt: string | undefined): string {
  const [storedHeader, payloadJson] = JSON.parse(expandText(parts.ticketText)) as [string, string];
  const headerJson = crt === undefined ? storedHeader : storedHeader.replace(`"crt":${JSON.stringify(NO_CERTIFICATE)}`, `"crt":${JSON.stringify(crt)}`);
  const segment = (json: string) => Buffer.from(json, 'utf8').toString('base64url');
  return `${segment(headerJson)}.${segment(payloadJson)}.${Buffer.from(parts.ticketSignature).toString('base64url')}`;
}

/** Session keys whose certificate this container has stored (one write per key, not per ticket). */
const storedCertificates = new Set<string>();

async function storeTicket(db: Db, ticket: string): Promise<Record<string, unknown>> {
  const split = splitTicket(ticket);
  if (!split) return { ticket };
  if (split.certificate && !storedCertificates.has(split.certificate.kid)) {
    await withFaultRetry(() =>
      db.doc.send(new PutCommand({ TableName: db.table, Item: { ...keys.sessionKeyCertificate(split.certificate!.kid), type: 'session-key-certificate', crt: split.certificate!.crt } })),
    );
    storedCertificates.add(split.certificate.kid);
  }
  return { ...split.parts };
}

/** The ticket as issued, for the answer to a retried nonce. */
async function restoreTicket(db: Db, item: Record<string, unknown>): Promise<string> {
  if (typeof item.ticket === 'string') return item.ticket;
  const parts = item as unknown as TicketParts;
  if (!(parts.ticketText instanceof Uint8Array)) return '';
  let crt: string | undefined;
  if (parts.ticketCertificateKid) {
    const { Item } = await withFaultRetry(() => db.doc.send(new GetCommand({ TableName: db.table, Key: keys.sessionKeyCertificate(parts.ticketCertificateKid!) })));
    crt = Item?.crt as string | undefined;
  }
  return joinTicket(parts, crt);
}

/**
 * Serials are stored as the job's serial rule and the first index (a few bytes, where a list of
 * 1,000 serials would make every write of the item cost several write units); authorizations
 * recorded before v1.1 stored the list itself.
 */
function grantedSerials(item: Record<string, unknown>): string[] {
  if (Array.isArray(item.serials)) return item.serials as string[];
  if (typeof item.firstIndex !== 'number') return [];
  return serialRange({ start: Number(item.serialStart), step: Number(item.serialStep), format: item.serialFormat as string }, item.firstIndex, Number(item.units));
}

function toAuthorizationRecord(item: Record<string, unknown>): AuthorizationRecord {
  return {
    authorizationId: item.authorizationId as string,
    jobId: item.jobId as string,
    units: Number(item.units),
    serials: grantedSerials(item),
    expiresAt: (item.expiresAt as string | undefined) ?? '',
    // Restored only where it is given back (a retried nonce): see restoreTicket.
    ticket: typeof item.ticket === 'string' ? item.ticket : '',
    programmerId: item.programmerId as string,
    run: Number(item.run ?? 0),
    nonce: item.nonce as string,
    // Authorizations recorded before leases existed were granted in one write.
    state: (item.state as AuthorizationState | undefined) ?? 'granted',
    firstIndex: typeof item.firstIndex === 'number' ? item.firstIndex : undefined,
    abandonedAt: item.abandonedAt as string | undefined,
    release: item.release as ReleaseView | undefined,
    unitFields: (item.unitFields as UnitFieldDefinition[] | undefined) ?? [],
    unitDraws: (item.unitDraws as IndexRuns[] | undefined) ?? [],
    onFailure: item.onFailure === 'return' ? 'return' : 'consume',
    ...(Array.isArray(item.uids) && { uids: item.uids as string[], uidPolicy: item.uidPolicy as UidScope['policy'] }),
  };
}

/** The response body, built the same way for a grant and for a retried nonce, so both are byte for byte the same. */
export function publicView(record: AuthorizationRecord, listRows: readonly (string[][] | undefined)[] = []): AuthorizationView {
  const { authorizationId, jobId, units, serials, uids, expiresAt, ticket } = record;
  return { authorizationId, jobId, units, serials, unitData: buildUnitData(serials, record.unitFields, record.unitDraws, listRows), ...(uids && { uids }), expiresAt, ticket };
}

/** The same for a retried nonce: a data-list field's rows are read again (the same rows: they are named by the stored draws). */
async function storedView(deps: AuthorizeDeps, accountId: string, record: AuthorizationRecord): Promise<AuthorizationView> {
  return publicView(record, await listRowsOf(deps.db, deps.dataKeys, accountId, record.unitFields, record.unitDraws));
}

interface Snapshot {
  programmer?: ProgrammerView;
  job?: JobRecord;
  /** The job item as stored, with its reservation ledger. */
  jobItem?: Record<string, unknown>;
  existing?: AuthorizationRecord;
  existingItem?: Record<string, unknown>;
}

/**
 * Programmer, job and any earlier authorization of this nonce, in one round trip. The first
 * read may be eventually consistent (half the read units): what is decided on the job is not
 * final, because the reservation re-checks its settings in its condition, and the authorization
 * item can only be created once, so a stale job or nonce costs at most another pass. The
 * programmer is not checked again: a programmer disabled, moved or taken out of the job's target
 * groups within DynamoDB's replication lag (typically well under a second) may still be granted
 * this once (README "Authorization"). Passes after a lost race read strongly consistent.
 */
async function readSnapshot(db: Db, input: AuthorizeInput, authorizationId: string, consistent: boolean): Promise<Snapshot> {
  const [programmer, job, existing] = await getItems(
    db,
    db.table,
    [keys.programmer(input.accountId, input.programmerId), keys.job(input.accountId, input.jobId), keys.authorization(input.accountId, authorizationId)],
    consistent,
  );
  return {
    programmer: programmer && toProgrammerView(programmer),
    job: job && toJobRecord(job),
    jobItem: job,
    existing: existing && toAuthorizationRecord(existing),
    existingItem: existing,
  };
}

/** What a presented binding is for this job; the signature is checked for any binding of this job, old or current. */
async function checkBinding(bindings: BindingVerifier, binding: string, input: AuthorizeInput, job: JobRecord): Promise<BindingFit> {
  const fit = bindingFit(decodeJwsPayload(binding), { accountId: input.accountId, jobId: job.jobId, imageId: job.imageId, factoryId: job.factoryId });
  if (fit === 'foreign') return fit;
  return (await bindings.verify(binding)) ? fit : 'foreign';
}

/**
 * The refusal of a programmer that holds a replaced image, with the new image's binding (kept on
 * its image item). Read only on this refusal, the first request of each programmer after a
 * replace: authorizations pay nothing for replaces.
 */
async function imageReplacedRefusal(db: Db, accountId: string, job: JobRecord): Promise<ConflictError> {
  const [image] = await getItems(db, db.table, [keys.image(accountId, job.imageId)], true);
  return imageReplaced(job.imageId, image?.binding as string);
}

/** A nonce names one request: the same nonce with another job or unit count is a client bug, not a retry. */
function assertSameRequest(existing: AuthorizationRecord, input: AuthorizeInput): void {
  if (existing.jobId !== input.jobId || existing.units !== input.units || String(existing.uids) !== String(input.uids?.map(normalizeUid))) {
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

/** A reservation in the job's ledger: its attribute name says when, how many units and for whom; its value is the first serial index. */
interface LedgerEntry {
  name: string;
  reservedAtSeconds: number;
  units: number;
  authorizationId: string;
  firstIndex: number;
}

/** The reservations recorded in a job item, optionally only those of one authorization. */
function ledgerEntries(jobItem: Record<string, unknown>, authorizationId?: string): LedgerEntry[] {
  return Object.entries(jobItem).flatMap(([name, value]) => {
    const parsed = keys.parseReservationAttribute(name);
    if (!parsed || typeof value !== 'number' || (authorizationId !== undefined && parsed.authorizationId !== authorizationId)) return [];
    return [{ name, ...parsed, firstIndex: value }];
  });
}

/** A job restart resets the counters; reservations made before it (lower serial indexes) count in no run any more. */
function reservedInCurrentRun(jobItem: Record<string, unknown>, entry: LedgerEntry): boolean {
  return entry.firstIndex >= Number(jobItem.runStartIndex ?? 0);
}

/**
 * The earliest reservation an earlier attempt of this nonce made in the job's current run, which
 * a retry finishes instead of reserving again. One from before a restart is not: its units count
 * in no run any more, so granting it would hand out units the new run never counted (the sweep
 * removes it; the retry reserves anew).
 */
function earliestOwnReservation(jobItem: Record<string, unknown>, authorizationId: string): LedgerEntry | undefined {
  return ledgerEntries(jobItem, authorizationId)
    .filter((entry) => reservedInCurrentRun(jobItem, entry))
    .sort((a, b) => a.firstIndex - b.firstIndex)[0];
}

/**
 * The give-back of a reservation's units as one update: the units leave `authorized` only while
 * the reservation is still in the run it was counted in. The condition holds that, so a restart
 * between the read and this write (which zeroes `authorized` and moves `runStartIndex` past the
 * entry) fails it instead of taking the units from the new run's count.
 */
function giveBackUpdate(jobItem: Record<string, unknown>, entry: LedgerEntry, now: Date) {
  const currentRun = reservedInCurrentRun(jobItem, entry);
  return {
    UpdateExpression: currentRun ? 'SET authorized = authorized - :units, updatedAt = :at REMOVE #rsv' : 'REMOVE #rsv',
    ConditionExpression: currentRun ? '#rsv = :firstIndex AND (attribute_not_exists(runStartIndex) OR runStartIndex <= :firstIndex)' : '#rsv = :firstIndex',
    ExpressionAttributeNames: { '#rsv': entry.name },
    ExpressionAttributeValues: { ':firstIndex': entry.firstIndex, ...(currentRun && { ':units': entry.units, ':at': now.toISOString() }) },
  };
}

type Reservation = { kind: 'reserved'; entry: LedgerEntry; job: JobRecord; item: Record<string, unknown> } | { kind: 'changed'; job: JobRecord | undefined };

/**
 * The job's settings an authorization is decided on, as the reservation's condition: each must
 * still be what the decision saw (or still be absent), so a limit, date window, lease ceiling or
 * image changed between the decision and the write makes the write fail instead of granting on
 * old settings, nor to a programmer outside new target groups. Counters are not among them: `authorized` is checked against the limit itself.
 */
function decidedOn(job: JobRecord, names: Record<string, string>, values: Record<string, unknown>): string {
  const settings: [string, string | number | null][] = [
    ['notBefore', job.notBefore],
    ['notAfter', job.notAfter],
    ['maxLeaseSeconds', job.maxLeaseSeconds],
    ['imageId', job.imageId],
    // As stored: the target groups comma-joined (a string compares where a list may not).
    ['targetGroups', job.targetGroupIds?.join() ?? null],
  ];
  return settings
    .map(([attribute, value]) => {
      names[`#${attribute}`] = attribute;
      if (value === null) return `attribute_not_exists(#${attribute})`;
      values[`:${attribute}`] = value;
      return `#${attribute} = :${attribute}`;
    })
    .join(' AND ');
}

/**
 * The one write that reserves: adds the units to the job's `authorized` under its count limit
 * and moves its serial index, in a single atomic conditional update that DynamoDB serializes
 * (no read-decide-retry loop: concurrent callers never make each other fail). The same write
 * records the reservation in the job's ledger (time, units, authorization id → first serial
 * index), so a retry of the nonce after a crash finds and finishes it instead of taking a second
 * one, and a reservation whose request died can be found and given back.
 */
async function reserve(db: Db, input: AuthorizeInput, authorizationId: string, job: JobRecord, now: Date, memory?: JobMemory): Promise<Reservation> {
  const name = keys.reservationAttribute(Math.floor(now.getTime() / 1000), input.units, authorizationId);
  const removals = takeRecordedReservations(input.accountId, job.jobId).filter((removal) => removal !== name);
  const names: Record<string, string> = { '#status': 'status', '#run': 'run', '#rsv': name };
  removals.forEach((removal, i) => {
    names[`#done${i}`] = removal;
  });
  const values: Record<string, unknown> = {
    ':units': input.units,
    ':at': now.toISOString(),
    ':active': 'active',
    ':run': job.run,
    ...(job.maxCount !== null && { ':max': job.maxCount, ':lastAllowed': job.maxCount - input.units }),
  };
  const limit = job.maxCount === null ? 'attribute_not_exists(maxCount)' : 'maxCount = :max AND authorized <= :lastAllowed';
  const settings = decidedOn(job, names, values);
  const output = await withFaultRetry(async () => {
    try {
      return await db.doc.send(
        new UpdateCommand({
          TableName: db.table,
          Key: keys.job(input.accountId, job.jobId),
          UpdateExpression: `SET authorized = authorized + :units, nextSerialIndex = nextSerialIndex + :units, updatedAt = :at, #rsv = nextSerialIndex${
            removals.length ? ` REMOVE ${removals.map((_, i) => `#done${i}`).join(', ')}` : ''
          }`,
          ConditionExpression: `#status = :active AND #run = :run AND attribute_not_exists(#rsv) AND ${limit} AND ${settings}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
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
    if (current) memory?.remember(input.accountId, current);
    else memory?.forget(input.accountId, job.jobId);
    return { kind: 'changed', job: current ? toJobRecord(current) : undefined };
  }
  forgetRemovedReservations(input.accountId, job.jobId, removals);
  const item = output.Attributes as Record<string, unknown>;
  memory?.remember(input.accountId, item);
  const entry = ledgerEntries(item, authorizationId).find((candidate) => candidate.name === name)!;
  return { kind: 'reserved', entry, job: toJobRecord(item), item };
}

/**
 * One per container (`AuthorizeDeps.jobs`): each job as its last reservation (or failed
 * reservation) returned it. A later authorization on the job decides on it and reserves at once,
 * reading the programmer and the nonce beside the reservation instead of before it: the
 * reservation's condition re-checks every setting the decision used (status, run, limit, dates,
 * lease ceiling, image), so a stale entry costs one failed write and a pass on fresh data, never
 * a wrong grant.
 */
export class JobMemory {
  private readonly jobs = new Map<string, JobRecord>();

  constructor(private readonly capacity = 500) {}

  recall(accountId: string, jobId: string): JobRecord | undefined {
    return this.jobs.get(ledgerKey(accountId, jobId));
  }

  remember(accountId: string, item: Record<string, unknown>): void {
    const key = ledgerKey(accountId, item.jobId as string);
    this.jobs.delete(key);
    this.jobs.set(key, toJobRecord(item));
    if (this.jobs.size > this.capacity) this.jobs.delete(this.jobs.keys().next().value as string);
  }

  forget(accountId: string, jobId: string): void {
    this.jobs.delete(ledgerKey(accountId, jobId));
  }
}

async function readJobItem(db: Db, accountId: string, jobId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await withFaultRetry(() => db.doc.send(new GetCommand({ TableName: db.table, Key: keys.job(accountId, jobId), ConsistentRead: true })));
  return Item;
}

async function readAuthorizationItem(db: Db, accountId: string, authorizationId: string): Promise<AuthorizationRecord | undefined> {
  const { Item } = await withFaultRetry(() =>
    db.doc.send(new GetCommand({ TableName: db.table, Key: keys.authorization(accountId, authorizationId), ConsistentRead: true })),
  );
  return Item && toAuthorizationRecord(Item);
}

/**
 * The authorization item, written once when granted. Only what is read back is stored: every
 * byte counts, a 100-unit authorization fits one write unit (the ticket's `iat` says when). It can only be created, or replace the
 * tombstone of an abandoned attempt exactly as read, so of twin requests for one nonce exactly
 * one grants, and a request whose reservation was rolled back meanwhile cannot grant it.
 */
async function recordGrant(
  db: Db,
  input: AuthorizeInput,
  record: AuthorizationRecord,
  entry: LedgerEntry,
  job: JobRecord,
  previous: AuthorizationRecord | undefined,
  traced: readonly Record<string, unknown>[],
): Promise<boolean> {
  const ticketFields = await storeTicket(db, record.ticket);
  const grant = {
    TableName: db.table,
    Item: {
      ...keys.authorization(input.accountId, record.authorizationId),
      authorizationId: record.authorizationId,
      jobId: record.jobId,
      programmerId: record.programmerId,
      nonce: record.nonce,
      units: record.units,
      run: record.run,
      state: 'granted',
      firstIndex: entry.firstIndex,
      serialStart: job.serialStart,
      serialStep: job.serialStep,
      serialFormat: job.serialFormat,
      // Only for jobs with per-unit data: others keep their one-write-unit item.
      ...(record.unitFields.length > 0 && { unitFields: record.unitFields, unitDraws: record.unitDraws }),
      ...(record.onFailure === 'return' && { onFailure: 'return' }),
      ...(record.uids && { uids: record.uids, uidPolicy: record.uidPolicy }),
      expiresAt: record.expiresAt,
      ...ticketFields,
    },
    ...(previous?.state === 'abandoned'
      ? {
          ConditionExpression: '#state = :abandoned AND abandonedAt = :abandonedAt',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':abandoned': 'abandoned', ':abandonedAt': previous.abandonedAt },
        }
      : { ConditionExpression: 'attribute_not_exists(pk)' }),
  };
  try {
    // A job without per-unit sources keeps its one plain write; one with them writes its index
    // items in the same transaction (one round trip, all or nothing) while they fit one beside the
    // grant. Values given back by failed units come in short runs, one index item each, so a
    // grant can name more runs than a transaction holds (100 items): those index items are written
    // first (one PutItem each), and the grant alone after them. An index item whose grant then never happens is
    // harmless: a lookup follows it only to an authorization whose draws hold the value.
    if (traced.length === 0) await withFaultRetry(() => db.doc.send(new PutCommand(grant)));
    else if (traced.length >= MAX_TRANSACTION_ITEMS) {
      await putItems(db, db.table, traced);
      await withFaultRetry(() => db.doc.send(new PutCommand(grant)));
    } else await withFaultRetry(() => db.doc.send(new TransactWriteCommand({ TransactItems: [{ Put: grant }, ...traced.map((Item) => ({ Put: { TableName: db.table, Item } }))] })));
    return true;
  } catch (error) {
    // The grant's own condition, alone or as the transaction's first item.
    if (isConditionFailure(error) || cancelledConditions(error)?.[0] === true) return false;
    throw error;
  }
}

/** DynamoDB's limit on the items of one TransactWriteItems. */
const MAX_TRANSACTION_ITEMS = 100;

/** Gives back a reservation this request made that no authorization holds (a twin request granted with its own). */
async function giveBack(db: Db, accountId: string, jobId: string, entry: LedgerEntry): Promise<void> {
  const jobItem = await readJobItem(db, accountId, jobId);
  if (!jobItem || jobItem[entry.name] !== entry.firstIndex) return;
  try {
    await withFaultRetry(() => db.doc.send(new UpdateCommand({ TableName: db.table, Key: keys.job(accountId, jobId), ...giveBackUpdate(jobItem, entry, new Date()) })));
  } catch (error) {
    // Given back meanwhile by the stale-reservation sweep, or the job restarted since it was
    // read; any other failure leaves it to that sweep.
    if (!isConditionFailure(error)) throw error;
  }
}

/**
 * The per-unit values of a reservation: one atomic update per source. When a source cannot fill
 * it, the job's units go back at once (the request is refused, nothing of it stays counted);
 * values already taken from other sources are burned. A crash or a twin request after this
 * point burns values too: a value may be burned, never handed out twice.
 */
async function drawForReservation(db: Db, input: AuthorizeInput, job: JobRecord, entry: LedgerEntry, inherited: boolean): Promise<IndexRuns[]> {
  if (job.unitFields.length === 0) return [];
  try {
    return await drawUnitValues(db, input.accountId, job.unitFields, input.units, job.onFailure === 'return' ? { authorizationId: authorizationIdFor(input.accountId, input.programmerId, input.nonce) } : undefined);
  } catch (error) {
    // A reservation taken over from an earlier attempt of this nonce may still be granted by
    // that attempt (a twin still running): only the stale sweep, which reads the authorization
    // and writes a tombstone in the same transaction, may give it back.
    if (!inherited) await giveBack(db, input.accountId, job.jobId, entry);
    throw error;
  }
}

/** How many times one request decides anew after a change it could not foresee (a twin request, a restart, a new limit). */
const MAX_PASSES = 4;

/** A reservation this request holds, with what was read beside or before it. */
interface Held {
  kind: 'held';
  reservation: Extract<Reservation, { kind: 'reserved' }>;
  existing: AuthorizationRecord | undefined;
  /** The reservation is an earlier attempt's of this nonce: never given back by this request. */
  inherited: boolean;
}

type Attempt = Held | { kind: 'done'; result: { authorization: AuthorizationView; created: boolean } } | { kind: 'again' } | { kind: 'read first' };

/** The programmer and any earlier authorization of this nonce, read beside the reservation. */
async function readDeviceState(db: Db, input: AuthorizeInput, authorizationId: string): Promise<Pick<Snapshot, 'programmer' | 'existing' | 'existingItem'>> {
  const [programmer, existing] = await getItems(db, db.table, [keys.programmer(input.accountId, input.programmerId), keys.authorization(input.accountId, authorizationId)], false);
  return { programmer: programmer && toProgrammerView(programmer), existing: existing && toAuthorizationRecord(existing), existingItem: existing };
}

/** A retried nonce gets what it was given, whatever the job's state by now. */
async function alreadyGiven(deps: AuthorizeDeps, input: AuthorizeInput, existing: AuthorizationRecord | undefined, existingItem: Record<string, unknown> | undefined): Promise<Attempt | undefined> {
  if (!existing) return undefined;
  assertSameRequest(existing, input);
  if (existing.state !== 'granted' && existing.state !== 'released') return undefined;
  const [view, ticket] = await Promise.all([storedView(deps, input.accountId, existing), restoreTicket(deps.db, existingItem!)]);
  return { kind: 'done', result: { authorization: { ...view, ticket }, created: false } };
}

/**
 * The path of a container that knows the job (from its last reservation on it): decide on what
 * it knows, then reserve and read the programmer and the nonce at the same time, one round trip
 * instead of two. The reservation's condition re-checks the job's settings; what only the reads
 * can tell (a disabled or moved programmer, a retried nonce) is checked when both are back, and a
 * reservation it refuses is given back at once: such a refusal holds units for milliseconds,
 * never grants them. Anything the known job would refuse goes the read-first way, so no refusal
 * is ever decided on remembered data.
 */
async function reserveBesideReads(deps: AuthorizeDeps, input: AuthorizeInput, authorizationId: string, known: JobRecord, now: Date): Promise<Attempt> {
  const { db } = deps;
  // Chips are claimed before units are reserved, on the read-first way; other jobs take no UIDs.
  if (known.uidPolicy !== 'none') return { kind: 'read first' };
  authorizationUids(known.uidPolicy, input.units, input.uids);
  if (authorizationRefusal(known, input.units, now)) return { kind: 'read first' };
  if (input.binding !== undefined && (await checkBinding(deps.bindings, input.binding, input, known)) !== 'current') return { kind: 'read first' };
  try {
    leaseWindow(known, input.validSeconds, now);
  } catch {
    return { kind: 'read first' };
  }
  const [state, reservation] = await Promise.all([readDeviceState(db, input, authorizationId), reserve(db, input, authorizationId, known, now, deps.jobs)]);
  const { programmer, existing, existingItem } = state;
  const undo = async () => {
    if (reservation.kind === 'reserved') await giveBack(db, input.accountId, input.jobId, reservation.entry);
  };
  try {
    const given = await alreadyGiven(deps, input, existing, existingItem);
    if (given) {
      await undo();
      return given;
    }
    if (!programmer) throw new UnauthenticatedError('These programmer credentials are no longer valid');
    const refusal = reservation.job ? deviceRefusal(programmer, reservation.job) : new NotFoundError('Job');
    if (refusal) throw refusal;
  } catch (error) {
    await undo();
    throw error;
  }
  if (reservation.kind === 'changed') {
    // The job changed since this container last saw it: decide on what is there now.
    const changedRefusal = authorizationDecision(programmer, reservation.job!, input.units, now);
    if (changedRefusal) throw changedRefusal;
    // The binding fitted the image this container knew; the write refused a replaced one.
    if (input.binding !== undefined && reservation.job!.imageId !== known.imageId) throw await imageReplacedRefusal(db, input.accountId, reservation.job!);
    return { kind: 'again' };
  }
  // An earlier attempt of this nonce reserved and died (or a twin is still running): finish that
  // reservation, and give this one back.
  const earlier = earliestOwnReservation(reservation.item, authorizationId)!;
  if (earlier.name !== reservation.entry.name) {
    await undo();
    return { kind: 'held', reservation: { ...reservation, entry: earlier }, existing, inherited: true };
  }
  return { kind: 'held', reservation, existing, inherited: false };
}

/** The path of a container that does not know the job yet (or a pass after a change): read, decide, then reserve. */
async function decideThenReserve(deps: AuthorizeDeps, input: AuthorizeInput, authorizationId: string, consistent: boolean, now: Date, claims: UidClaims): Promise<Attempt> {
  const { db } = deps;
  const { programmer, job, jobItem, existing, existingItem } = await readSnapshot(db, input, authorizationId, consistent);
  const given = await alreadyGiven(deps, input, existing, existingItem);
  if (given) return given;
  // A deprovisioned programmer whose token is still cached by the authorizer.
  if (!programmer) throw new UnauthenticatedError('These programmer credentials are no longer valid');
  if (!job || !jobItem) throw new NotFoundError('Job');
  // An earlier attempt of this nonce that reserved and then died (or a twin still running): its
  // units are counted already, so only the programmer and the job are checked again, not the limit.
  const earlier = earliestOwnReservation(jobItem, authorizationId);
  const refusal = earlier ? deviceRefusal(programmer, job) : authorizationDecision(programmer, job, input.units, now);
  if (refusal) throw refusal;
  if (input.binding !== undefined) {
    const fit = await checkBinding(deps.bindings, input.binding, input, job);
    if (fit === 'replaced') {
      // An eventually consistent read may predate the replace that issued this binding: read strongly before refusing.
      if (!consistent) return { kind: 'again' };
      throw await imageReplacedRefusal(db, input.accountId, job);
    }
    if (fit === 'foreign') throw new ConflictError('binding_mismatch', 'The binding was not issued by this cloud for this job, account and factory');
  }
  const lease = leaseWindow(job, input.validSeconds, now);
  // Jobs without a UID policy pay nothing here. UID jobs claim their chips before reserving
  // units: a chip held elsewhere refuses the request with nothing reserved (store/uid-claims.ts).
  const uids = authorizationUids(job.uidPolicy, input.units, input.uids);
  if (uids && job.uidPolicy !== 'none' && !claims.scope) {
    const scope: UidScope = { accountId: input.accountId, jobId: job.jobId, policy: job.uidPolicy };
    await claimUids(db, scope, authorizationId, uids, lease.exp, now);
    Object.assign(claims, { scope, uids });
  }
  if (earlier) return { kind: 'held', reservation: { kind: 'reserved', entry: earlier, job, item: jobItem }, existing, inherited: true };
  // An attempt of this nonce from before a restart left its entry: it counts in no run, and within
  // the same second it has the very name this reservation is about to take.
  for (const old of ledgerEntries(jobItem, authorizationId)) await giveBack(db, input.accountId, job.jobId, old);
  const reservation = await reserve(db, input, authorizationId, job, now, deps.jobs);
  if (reservation.kind === 'changed') {
    // The job changed since we read it (paused, limit reached, restarted): decide on what is there now.
    const current = reservation.job;
    const changedRefusal = current ? authorizationDecision(programmer, current, input.units, now) : new NotFoundError('Job');
    if (changedRefusal) throw changedRefusal;
    if (input.binding !== undefined && current!.imageId !== job.imageId) throw await imageReplacedRefusal(db, input.accountId, current!);
    return { kind: 'again' };
  }

  return { kind: 'held', reservation, existing, inherited: false };
}

/**
 * Permission to program `units` units, in two writes: the reservation (one atomic conditional
 * update of the job, see `reserve`), then the authorization item with its serials, lease and
 * ticket. A container that knows the job reads the programmer and the nonce beside the
 * reservation (`reserveBesideReads`), others read first. A crash between the writes leaves
 * nothing counted that no authorization holds: the job's ledger names the reservation, so a
 * retry of the nonce finishes it, and if no retry comes, a later authorization on the job finds
 * the stale ledger entry and gives its units back (`recoverStaleReservations`). Twin requests
 * for one nonce may both reserve; one grants, and the other gives its reservation back.
 */
export async function authorizeUnits(deps: AuthorizeDeps, input: AuthorizeInput, now = new Date()): Promise<{ authorization: AuthorizationView; created: boolean }> {
  const claims: UidClaims = {};
  try {
    return await authorizeClaimingUids(deps, input, now, claims);
  } catch (error) {
    if (claims.scope) await releaseRefusedClaims(deps.db, input, claims.scope, claims.uids!);
    throw error;
  }
}

/** The UIDs a request claimed, so that a refused request frees them at once rather than at its lease's end. */
interface UidClaims {
  scope?: UidScope;
  uids?: string[];
}

async function releaseRefusedClaims(db: Db, input: AuthorizeInput, scope: UidScope, uids: string[]): Promise<void> {
  const authorizationId = authorizationIdFor(input.accountId, input.programmerId, input.nonce);
  // A twin request of the same nonce may have granted with these very claims: then they stay.
  const holder = await readAuthorizationItem(db, input.accountId, authorizationId).catch(() => undefined);
  if (holder?.state === 'granted' || holder?.state === 'released') return;
  await releaseUidClaims(db, scope, authorizationId, uids).catch(() => undefined);
}

async function authorizeClaimingUids(deps: AuthorizeDeps, input: AuthorizeInput, now: Date, claims: UidClaims): Promise<{ authorization: AuthorizationView; created: boolean }> {
  const { db } = deps;
  const authorizationId = authorizationIdFor(input.accountId, input.programmerId, input.nonce);

  for (let pass = 1; pass <= MAX_PASSES; pass += 1) {
    const known = pass === 1 ? deps.jobs?.recall(input.accountId, input.jobId) : undefined;
    let attempt = known ? await reserveBesideReads(deps, input, authorizationId, known, now) : { kind: 'read first' as const };
    // Passes after a lost race read strongly consistent.
    if (attempt.kind === 'read first') attempt = await decideThenReserve(deps, input, authorizationId, pass > 1, now, claims);
    if (attempt.kind === 'done') return attempt.result;
    if (attempt.kind === 'again' || attempt.kind === 'read first') continue;
    const { reservation, existing, inherited } = attempt;
    const lease = leaseWindow(reservation.job, input.validSeconds, now);
    const uids = authorizationUids(reservation.job.uidPolicy, input.units, input.uids);
    await recoverStaleReservations(db, input.accountId, reservation.item, now, deps.staleAfterMs, reservation.entry.name);

    const reserved = reservation.job;
    const serials = serialRange({ start: reserved.serialStart, step: reserved.serialStep, format: reserved.serialFormat }, reservation.entry.firstIndex, input.units);
    const unitDraws = await drawForReservation(db, input, reserved, reservation.entry, inherited);
    const listRows = await listRowsOf(db, deps.dataKeys, input.accountId, reserved.unitFields, unitDraws);
    const unitData = buildUnitData(serials, reserved.unitFields, unitDraws, listRows);
    const ticket = await withFaultRetry(() =>
      deps.tickets.signTicket({
        iss: 'flashline',
        sub: input.programmerId,
        acct: input.accountId,
        job: reserved.jobId,
        img: reserved.imageId,
        units: input.units,
        serials,
        ...(uids && { uids }),
        ud: unitDataDigest(unitData),
        nonce: input.nonce,
        exp: lease.exp,
        iat: lease.iat,
        jti: authorizationId,
      }),
    );
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
      firstIndex: reservation.entry.firstIndex,
      unitFields: reserved.unitFields,
      unitDraws,
      onFailure: reserved.onFailure,
      ...(uids && claims.scope && { uids, uidPolicy: claims.scope.policy }),
    };
    // Traceability: one small item per (source, run) of serial pools and MAC blocks, in the
    // grant's own write, so an entry exists exactly when the authorization that names it does.
    const traced = unitIndexItems(input.accountId, authorizationId, reserved.jobId, reserved.unitFields, unitDraws);
    if (await recordGrant(db, input, record, reservation.entry, reserved, existing, traced)) {
      noteRecordedReservation(input.accountId, reserved.jobId, reservation.entry.name);
      return { authorization: publicView(record, listRows), created: true };
    }
    // A twin request granted first, or the reservation was given back as stale (the nonce is tried anew).
    const holder = await readAuthorizationItem(db, input.accountId, authorizationId);
    if ((holder?.state === 'granted' || holder?.state === 'released') && holder.firstIndex !== reservation.entry.firstIndex && !inherited) {
      await giveBack(db, input.accountId, reserved.jobId, reservation.entry);
    }
  }
  throw new ThrottledError(1, 'This authorization kept changing under concurrent requests; retry with the same nonce');
}

/**
 * Gives back reservations whose requests died: ledger entries older than the stale limit that
 * no authorization holds. Their units go back to the job (in the same run), and where no
 * authorization was granted, a tombstone (`abandoned`) is written in the same transaction, so
 * the request that reserved can never grant this reservation after all; a retry of its nonce
 * reserves anew. Entries of granted authorizations only lost their cleanup: they are removed.
 * At most a few per call, so one request never pays for many.
 */
export async function recoverStaleReservations(db: Db, accountId: string, jobItem: Record<string, unknown>, now: Date, staleAfterMs?: number, except?: string): Promise<number> {
  const stale = ledgerEntries(jobItem)
    .filter((entry) => entry.name !== except && isStaleReservation(entry.reservedAtSeconds, now, staleAfterMs))
    .slice(0, 3);
  let recovered = 0;
  for (const entry of stale) {
    const holder = await readAuthorizationItem(db, accountId, entry.authorizationId);
    const granted = holder?.state === 'granted' || holder?.state === 'released';
    const jobKey = keys.job(accountId, jobItem.jobId as string);
    try {
      if (granted && holder.firstIndex === entry.firstIndex) {
        await db.doc.send(
          new UpdateCommand({ TableName: db.table, Key: jobKey, UpdateExpression: 'REMOVE #rsv', ConditionExpression: 'attribute_exists(#rsv)', ExpressionAttributeNames: { '#rsv': entry.name } }),
        );
        continue;
      }
      const jobUpdate = { Update: { TableName: db.table, Key: jobKey, ...giveBackUpdate(jobItem, entry, now) } };
      const tombstone = {
        Put: {
          TableName: db.table,
          Item: {
            ...keys.authorization(accountId, entry.authorizationId),
            type: 'authorization',
            authorizationId: entry.authorizationId,
            jobId: jobItem.jobId,
            units: entry.units,
            state: 'abandoned',
            abandonedAt: now.toISOString(),
          },
          ...(holder
            ? { ConditionExpression: '#state = :abandoned AND abandonedAt = :read', ExpressionAttributeNames: { '#state': 'state' }, ExpressionAttributeValues: { ':abandoned': 'abandoned', ':read': holder.abandonedAt } }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        },
      };
      await db.doc.send(new TransactWriteCommand({ TransactItems: granted ? [jobUpdate] : [jobUpdate, tombstone] }));
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
  return authorizationOf(programmerId, Item);
}

/** The authorization item as this programmer's authorization, or 404: another's, or a claim not (or no longer) granted, is nobody's yet. */
export function authorizationOf(programmerId: string, item: Record<string, unknown> | undefined): AuthorizationRecord {
  const record = item && toAuthorizationRecord(item);
  if (!record || record.programmerId !== programmerId || record.state === 'pending' || record.state === 'abandoned') throw new NotFoundError('Authorization');
  return record;
}

/** What has been reported for an authorization (strongly consistent: reports and the release condition on it). */
export async function readReportedState(db: Db, accountId: string, record: AuthorizationRecord): Promise<ReportedState> {
  const { Item } = await withFaultRetry(() =>
    db.doc.send(new GetCommand({ TableName: db.table, Key: keys.reportedUnits(accountId, record.authorizationId), ConsistentRead: true })),
  );
  return toReportedState(record.units, Item);
}

const MAX_RELEASE_PASSES = 16;

/**
 * Ends an authorization: its units without a reported result go back to the job (`authorized`
 * falls, `returned` grows), in one transaction with the authorization's own state and the
 * freeze of its reported units. That freeze is conditioned on the reported units being what we
 * counted, so a result recorded meanwhile makes us count again instead of returning its unit,
 * and a result arriving after it finds the authorization released.
 */
export async function releaseAuthorization(db: Db, accountId: string, programmerId: string, authorizationId: string, now = new Date()): Promise<ReleaseView> {
  return (await releaseAuthorizationOnce(db, accountId, programmerId, authorizationId, now)).release;
}

/** The same, saying whether this call released it (`first`) or found it released: the units returned count once. */
export async function releaseAuthorizationOnce(
  db: Db,
  accountId: string,
  programmerId: string,
  authorizationId: string,
  now = new Date(),
): Promise<{ release: ReleaseView; first: boolean }> {
  let record = await getAuthorizationRecord(db, accountId, programmerId, authorizationId);
  // Each lost pass means a report of this authorization was recorded meanwhile: bounded by the reports in flight.
  for (let pass = 1; pass <= MAX_RELEASE_PASSES; pass += 1) {
    if (record.state === 'released' && record.release) return { release: record.release, first: false };
    const reported = await readReportedState(db, accountId, record);
    const outcome = releaseOutcome(record.serials, reported.set);
    const release: ReleaseView = { authorizationId, units: record.units, reported: outcome.reported, returned: outcome.returned };
    const at = now.toISOString();
    const authorizationUpdate = {
      Update: {
        TableName: db.table,
        Key: keys.authorization(accountId, authorizationId),
        UpdateExpression: 'SET #state = :released, releasedAt = :at, #release = :release',
        ConditionExpression: '#state = :granted',
        ExpressionAttributeNames: { '#state': 'state', '#release': 'release' },
        ExpressionAttributeValues: { ':released': 'released', ':granted': 'granted', ':at': at, ':release': release },
      },
    };
    const freeze = reportedUnitsWrite(db, accountId, authorizationId, reported, 'released = :true', { ':true': true });
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
        await withFaultRetry(() => db.doc.send(new TransactWriteCommand({ TransactItems: [authorizationUpdate, freeze, ...(countInRun ? [jobUpdate] : [])] })));
        // Chips of units that were never programmed are free again (programmed claims stay; what a crash leaves here expires with the lease).
        if (record.uids && record.uidPolicy) await releaseUidClaims(db, { accountId, jobId: record.jobId, policy: record.uidPolicy }, authorizationId, record.uids);
        return { release, first: true };
      } catch (error) {
        const failed = cancelledConditions(error);
        if (!failed) throw error;
        if (failed[0] || failed[1]) break; // a result or another release came in between: read and count again
        countInRun = false; // the job was restarted: only the authorization changes
      }
    }
    record = await getAuthorizationRecord(db, accountId, programmerId, authorizationId);
  }
  throw new ThrottledError(1, 'This authorization kept changing while being released; retry');
}
