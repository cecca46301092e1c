import { createHash } from 'node:crypto';
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { serialRange } from '../domain/jobs.js';
import { parseSerialFormat, poolIndexOf } from '../domain/serial-format.js';
import { type IndexRuns, type UnitFieldDefinition, buildUnitData, indexesPerUnit, parseMac, unitFieldNames } from '../domain/unit-data.js';
import { NotFoundError } from '../domain/errors.js';
import { normalizeUid } from '../domain/uids.js';
import { expandText } from './compression.js';
import { listRowsOf } from './data-list-rows.js';
import { type Db, getItems } from './db.js';
import { withFaultRetry } from './faults.js';
import { SK_PREFIX, keys } from './keys.js';
import { decodeResultBatch } from './result-batches.js';
import { type FactoryScope, seesFactory } from '../domain/factory-scope.js';

/** What GET /v1/units tells about one unit (never a secret value: field names only). */
export interface UnitStory {
  accountId: string;
  jobId: string;
  imageId: string | null;
  factoryId: string | null;
  programmerId: string;
  authorizationId: string;
  /** The unit's serial in its job (the ticket's `serials`). */
  serial: string;
  /** What the lookup matched: the field, its source and the value. */
  match: { field: string; sourceId: string; value: string };
  authorizedAt: string | null;
  state: string;
  result: { status: 'success' | 'failure'; errorCode: string | null; at: string; reportedAt: string } | null;
  /** The names in the unit's `unitData.fields`. */
  fields: string[];
}

/** The longest run one authorization can take of one field: 1,000 units × 16 addresses. */
const MAX_RUN = 16_000;
/** Result pages read for one unit's result before it is reported unknown: bounds a lookup's cost on a huge job. */
const MAX_RESULT_PAGES = 20;

async function queryAll(db: Db, input: QueryCommandInput, maxPages = Number.POSITIVE_INFINITY): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < maxPages; page += 1) {
    const output = await withFaultRetry(() => db.doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start })));
    items.push(...(output.Items ?? []));
    start = output.LastEvaluatedKey;
    if (!start) break;
  }
  return items;
}

/** The ticket's `iat`, from the stored ticket: authorizations keep no other grant time. */
function grantedAt(item: Record<string, unknown>): string | null {
  try {
    const payloadJson = item.ticketText instanceof Uint8Array
      ? (JSON.parse(expandText(item.ticketText)) as [string, string])[1]
      : Buffer.from(String(item.ticket ?? '').split('.')[1] ?? '', 'base64url').toString('utf8');
    const iat = (JSON.parse(payloadJson) as { iat?: number }).iat;
    return typeof iat === 'number' ? new Date(iat * 1000).toISOString() : null;
  } catch {
    return null;
  }
}

function serialsOf(item: Record<string, unknown>): string[] {
  if (Array.isArray(item.serials)) return item.serials as string[];
  return serialRange({ start: Number(item.serialStart), step: Number(item.serialStep), format: item.serialFormat as string }, Number(item.firstIndex), Number(item.units));
}

/** The unit (its place in the authorization) that holds `index` of field `f`, or undefined: an index drawn but never granted is burned. */
function unitHolding(field: UnitFieldDefinition, runs: IndexRuns, index: number): number | undefined {
  let position = 0;
  for (const [first, count] of runs) {
    if (index >= first && index < first + count) return Math.floor((position + index - first) / indexesPerUnit(field));
    position += count;
  }
  return undefined;
}

/** A job's results from `fromIso` on, optionally of one authorization (a bounded number of pages, or all). */
async function resultsOf(db: Db, accountId: string, jobId: string, options: { fromIso?: string; authorizationId?: string; maxPages?: number }) {
  const items = await queryAll(
    db,
    {
      TableName: db.events,
      KeyConditionExpression: options.fromIso ? 'pk = :pk AND sk >= :from' : 'pk = :pk',
      ...(options.authorizationId && { FilterExpression: 'authorizationId = :auth' }),
      ExpressionAttributeValues: { ':pk': keys.jobResultsPartition(accountId, jobId), ...(options.fromIso && { ':from': options.fromIso }), ...(options.authorizationId && { ':auth': options.authorizationId }) },
    },
    options.maxPages,
  );
  return items.flatMap((item) => {
    if (!(item.results instanceof Uint8Array)) return [];
    const reportedAt = (item.sk as string).split('#')[0] as string;
    return decodeResultBatch(item.results, Date.parse(reportedAt)).map((result) => ({
      ...result,
      at: result.at ?? reportedAt,
      reportedAt,
      authorizationId: item.authorizationId as string,
      programmerId: item.programmerId as string,
    }));
  });
}

/** Where one authorization holds the value looked up: its unit (place in the authorization) and the field's name. */
type Located = { unit: number; field: string } | undefined;

/** An authorization that may hold the value, and how to find the value's unit in it. */
interface Candidate {
  authorizationId: string;
  jobId: string;
  sourceId: string;
  locate: (authorization: Record<string, unknown>) => Located;
}

/** The stories of the candidates that do hold the value, oldest first: one read of their authorizations and jobs, and a bounded read of results per unit. */
async function storiesOf(db: Db, accountId: string, value: string, candidates: readonly Candidate[]): Promise<UnitStory[]> {
  if (candidates.length === 0) return [];
  const authorizations = await getItems(db, db.table, candidates.map((candidate) => keys.authorization(accountId, candidate.authorizationId)), false);
  const jobIds = [...new Set(candidates.map((candidate) => candidate.jobId))];
  const jobs = new Map(jobIds.map((jobId, i) => [jobId, i]));
  const jobItems = await getItems(db, db.table, jobIds.map((jobId) => keys.job(accountId, jobId)), false);
  const stories = await Promise.all(
    candidates.map(async (candidate, i): Promise<UnitStory | undefined> => {
      const authorization = authorizations[i];
      if (!authorization || (authorization.state !== undefined && authorization.state !== 'granted' && authorization.state !== 'released')) return undefined;
      const located = candidate.locate(authorization);
      if (!located) return undefined; // drawn by a request that never granted it: burned
      const serial = serialsOf(authorization)[located.unit] as string;
      const from = grantedAt(authorization);
      const job = jobItems[jobs.get(candidate.jobId)!];
      const results = await resultsOf(db, accountId, candidate.jobId, { fromIso: from?.slice(0, 19), authorizationId: candidate.authorizationId, maxPages: MAX_RESULT_PAGES });
      const result = results.find((found) => found.serial === serial);
      return {
        accountId,
        jobId: candidate.jobId,
        imageId: (job?.imageId as string | undefined) ?? null,
        factoryId: (job?.factoryId as string | undefined) ?? null,
        programmerId: authorization.programmerId as string,
        authorizationId: candidate.authorizationId,
        serial,
        match: { field: located.field, sourceId: candidate.sourceId, value },
        authorizedAt: from,
        state: (authorization.state as string | undefined) ?? 'granted',
        result: result ? { status: result.status, errorCode: result.errorCode, at: result.at, reportedAt: result.reportedAt } : null,
        fields: ((authorization.unitFields as UnitFieldDefinition[] | undefined) ?? []).flatMap(unitFieldNames),
      };
    }),
  );
  return stories.filter((story): story is UnitStory => story !== undefined).sort((a, b) => (a.authorizedAt ?? '').localeCompare(b.authorizedAt ?? ''));
}

/** The stories of whoever got `index` of a source: the unit holding it, and any earlier unit that failed and gave it back. */
async function storiesAt(db: Db, accountId: string, sourceId: string, index: number, value: string): Promise<UnitStory[]> {
  const entries = (
    await queryAll(db, {
      TableName: db.table,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :low AND :high',
      ExpressionAttributeValues: { ':pk': keys.unitIndexPartition(accountId, sourceId), ':low': keys.unitIndexPosition(Math.max(0, index - MAX_RUN + 1)), ':high': `${keys.unitIndexPosition(index)}#~` },
      ScanIndexForward: false,
    })
  ).filter((entry) => Number(entry.first) <= index && index < Number(entry.first) + Number(entry.count));
  return storiesOf(
    db,
    accountId,
    value,
    entries.map((entry) => ({
      authorizationId: entry.authorizationId as string,
      jobId: entry.jobId as string,
      sourceId,
      locate: (authorization) => {
        const f = Number(entry.field);
        const field = ((authorization.unitFields as UnitFieldDefinition[] | undefined) ?? [])[f];
        const unit = field && unitHolding(field, (authorization.unitDraws as IndexRuns[] | undefined)?.[f] ?? [], index);
        return field && unit !== undefined ? { unit, field: field.name } : undefined;
      },
    })),
  );
}

/**
 * A chip UID: its claims (one per scope it is unique in: the job, or the account) name the
 * authorization that holds it. Covers chips of jobs with a `uidPolicy` while claimed or
 * programmed; a chip whose unit failed was freed for another attempt and is no longer claimed.
 * `match.field` is `uid` and `match.sourceId` the scope: the job, or the account.
 */
export async function unitsByUid(db: Db, accountId: string, uid: string, scope: FactoryScope = {}): Promise<UnitStory[]> {
  const normalized = normalizeUid(uid);
  const all = await queryAll(db, { TableName: db.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': keys.uidClaimPartition(accountId, normalized) } });
  // A chip a unique_per_job job programmed has its account claim too (uid-claims.ts): one story, the job's.
  const jobScoped = new Set(all.filter((claim) => claim.sk !== 'ACCOUNT').map((claim) => claim.authorizationId));
  const claims = all.filter((claim) => claim.sk !== 'ACCOUNT' || !jobScoped.has(claim.authorizationId));
  const stories = await storiesOf(
    db,
    accountId,
    normalized,
    claims.map((claim) => ({
      authorizationId: claim.authorizationId as string,
      jobId: claim.jobId as string,
      sourceId: claim.sk === 'ACCOUNT' ? accountId : (claim.jobId as string),
      locate: (authorization) => {
        const unit = ((authorization.uids as string[] | undefined) ?? []).indexOf(normalized);
        return unit >= 0 ? { unit, field: 'uid' } : undefined;
      },
    })),
  );
  return stories.filter((story) => seesFactory(scope, story.factoryId));
}

/**
 * A serial pool value: every pool of the account whose format could have written it gives the
 * index (the format's inverse), then the index items at or below it name the authorization.
 * Cost: one Query of the account's pools, then per matching pool one Query of its index and one
 * BatchGet of authorizations (+ the job and a bounded read of its results per unit found).
 */
export async function unitsBySerial(db: Db, accountId: string, serial: string, scope: FactoryScope = {}): Promise<UnitStory[]> {
  const pools = await queryAll(db, { TableName: db.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': keys.accountPartition(accountId), ':prefix': SK_PREFIX.serialPool } });
  const found = await Promise.all(
    pools.map((pool) => {
      const index = poolIndexOf(parseSerialFormat(pool.format as string), Number(pool.start), Number(pool.step), serial);
      return index === undefined || index >= Number(pool.issued ?? 0) ? [] : storiesAt(db, accountId, pool.serialPoolId as string, index, serial);
    }),
  );
  return found.flat().filter((story) => seesFactory(scope, story.factoryId));
}

/** A MAC address: the account's MAC registry (one item) names the block holding it, then as for serials. */
export async function unitsByMac(db: Db, accountId: string, mac: string, scope: FactoryScope = {}): Promise<UnitStory[]> {
  const address = parseMac(mac);
  if (address === undefined) return [];
  const [registry] = await getItems(db, db.table, [keys.macRegistry(accountId)], false);
  const range = ((registry?.ranges as [number, number, string][] | undefined) ?? []).find(([first, last]) => address >= first && address <= last);
  if (!range) return [];
  return (await storiesAt(db, accountId, range[2], address - range[0], mac)).filter((story) => seesFactory(scope, story.factoryId));
}

/** Manifests up to this size are answered inline; larger ones are handed out as a presigned S3 URL. */
export const MANIFEST_INLINE_BYTES = 1024 * 1024;

export interface Manifest {
  jobId: string;
  units: number;
  /** JSON lines, one unit each, in the order results arrived. */
  manifest: string;
  sha256: string;
}

/**
 * Every unit of the job with a reported result, one JSON line each: serial, result, programmer,
 * authorization and its unit data without secret columns (named in `withheld`). Units
 * authorized but never reported are not in it: nothing indexes authorizations by job, and the
 * manifest is the record of what was programmed.
 */
export async function buildManifest(db: Db, accountId: string, jobId: string): Promise<Manifest> {
  const [job] = await getItems(db, db.table, [keys.job(accountId, jobId)], true);
  if (!job || job.status === 'deleted') throw new NotFoundError('Job');
  const results = await resultsOf(db, accountId, jobId, {});
  // Unit data lives on the authorizations, and only jobs with unit fields have any (they are
  // fixed before the first authorization): other jobs' manifests read none of them.
  const hasUnitData = ((job.unitFields as unknown[] | undefined) ?? []).length > 0;
  const authorizationIds = hasUnitData ? [...new Set(results.map((result) => result.authorizationId))] : [];
  const items = await getItems(db, db.table, authorizationIds.map((id) => keys.authorization(accountId, id)), false);
  const dataByAuthorization = new Map<string, Map<string, { fields: Record<string, string | string[]>; withheld: string[] }>>();
  await Promise.all(
    items.map(async (item, i) => {
      const perSerial = new Map<string, { fields: Record<string, string | string[]>; withheld: string[] }>();
      dataByAuthorization.set(authorizationIds[i] as string, perSerial);
      if (!item) return;
      const fields = (item.unitFields as UnitFieldDefinition[] | undefined) ?? [];
      if (fields.length === 0) return;
      const draws = (item.unitDraws as IndexRuns[] | undefined) ?? [];
      const serials = serialsOf(item);
      const rows = await listRowsOf(db, 'plainOnly', accountId, fields, draws);
      const withheld = fields.flatMap((field) => (field.kind === 'list' ? field.columns.filter((column) => column.secret).map((column) => `${field.name}.${column.name}`) : []));
      for (const entry of buildUnitData(serials, fields, draws, rows)) {
        const plain = Object.fromEntries(Object.entries(entry.fields).filter(([name]) => !withheld.includes(name)));
        perSerial.set(entry.serial, { fields: plain, withheld });
      }
    }),
  );
  const lines = results.map((result) => {
    const data = dataByAuthorization.get(result.authorizationId)?.get(result.serial);
    return JSON.stringify({
      serial: result.serial,
      status: result.status,
      errorCode: result.errorCode,
      at: result.at,
      reportedAt: result.reportedAt,
      jobId,
      imageId: job.imageId,
      programmerId: result.programmerId,
      authorizationId: result.authorizationId,
      fields: data?.fields ?? {},
      ...(data && data.withheld.length > 0 && { withheld: data.withheld }),
    });
  });
  const manifest = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  return { jobId, units: lines.length, manifest, sha256: createHash('sha256').update(manifest, 'utf8').digest('hex') };
}
