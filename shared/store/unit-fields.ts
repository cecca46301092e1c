import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import { type HeldValues, emptyHeldValues, holdValues, spareToTake, takeHeld, takenLately } from '../domain/source-leases.js';
import { type IndexRuns, type UnitFieldDefinition, indexesPerUnit, runsLength, splitRuns, toRuns, unitIndexes } from '../domain/unit-data.js';
import { type Db, getItems, isConditionFailure } from './db.js';
import { withFaultRetry } from './faults.js';
import { keys } from './keys.js';

/** A unit field as a job is given it (POST /v1/images, PATCH /v1/jobs/{jobId}). */
export interface UnitFieldInput {
  name: string;
  source: { serialPool: string } | { macBlock: string; perUnit: number } | { certificateAuthority: string } | { dataList: string };
}

/** The public form of a stored field. */
export function toUnitFieldInput(field: UnitFieldDefinition): UnitFieldInput {
  if (field.kind === 'certificate') return { name: field.name, source: { certificateAuthority: field.sourceId } };
  if (field.kind === 'list') return { name: field.name, source: { dataList: field.sourceId } };
  return { name: field.name, source: field.kind === 'serial' ? { serialPool: field.sourceId } : { macBlock: field.sourceId, perUnit: field.perUnit } };
}

function sourceKey(accountId: string, field: UnitFieldInput) {
  if ('certificateAuthority' in field.source) return keys.certificateAuthority(accountId, field.source.certificateAuthority);
  if ('dataList' in field.source) return keys.dataList(accountId, field.source.dataList);
  return 'serialPool' in field.source ? keys.serialPool(accountId, field.source.serialPool) : keys.macBlock(accountId, field.source.macBlock);
}

function sourceKeyOf(accountId: string, field: UnitFieldDefinition) {
  return field.kind === 'serial' ? keys.serialPool(accountId, field.sourceId) : field.kind === 'mac' ? keys.macBlock(accountId, field.sourceId) : keys.dataList(accountId, field.sourceId);
}

function exhaustedOf(field: UnitFieldDefinition) {
  return field.kind === 'serial' ? serialsExhausted(field.sourceId) : field.kind === 'mac' ? macsExhausted(field.sourceId) : dataListExhausted(field.sourceId);
}

/**
 * Each field with what renders its values, read from its source in the caller's own account
 * (so another account's pool or block is a 404, like any missing one). A source's rendering
 * settings never change, so the job keeps a copy and an authorization reads nothing more.
 */
export async function resolveUnitFields(db: Db, accountId: string, fields: readonly UnitFieldInput[]): Promise<UnitFieldDefinition[]> {
  if (fields.length === 0) return [];
  const items = await getItems(db, db.table, fields.map((field) => sourceKey(accountId, field)), true);
  return fields.map((field, i) => {
    const item = items[i];
    if ('certificateAuthority' in field.source) {
      if (!item) throw new NotFoundError(`Certificate authority ${field.source.certificateAuthority}`);
      return { name: field.name, kind: 'certificate', sourceId: field.source.certificateAuthority };
    }
    if ('serialPool' in field.source) {
      if (!item) throw new NotFoundError(`Serial pool ${field.source.serialPool}`);
      return { name: field.name, kind: 'serial', sourceId: field.source.serialPool, format: item.format as string, start: Number(item.start), step: Number(item.step), capacity: Number(item.capacity) };
    }
    if ('dataList' in field.source) {
      if (!item) throw new NotFoundError(`Data list ${field.source.dataList}`);
      // Only a list whose rows are all stored: its row count, upload and columns never change after.
      if (item.status !== 'ready') throw new ConflictError('data_list_not_ready', 'This data list has no rows yet: upload them first', { dataListId: field.source.dataList, status: item.status });
      const columns = (item.columns as { name: string; secret: boolean }[]).map(({ name, secret }) => ({ name, secret }));
      return { name: field.name, kind: 'list', sourceId: field.source.dataList, capacity: Number(item.total), uploadId: item.uploadId as string, columns };
    }
    if (!item) throw new NotFoundError(`MAC block ${field.source.macBlock}`);
    return { name: field.name, kind: 'mac', sourceId: field.source.macBlock, first: Number(item.first), capacity: Number(item.capacity), perUnit: field.source.perUnit };
  });
}

/**
 * The values of `units` units for every field: from what this server holds of the source, else
 * one atomic conditional update per source (see takeIndexes), so jobs sharing a source never
 * share a value. A field that cannot be filled
 * is a 409 (serials_exhausted / macs_exhausted / data_list_exhausted); values already taken for the fields before it
 * are burned, never handed out twice.
 */
export async function drawUnitValues(
  db: Db,
  accountId: string,
  fields: readonly UnitFieldDefinition[],
  units: number,
  returns?: { authorizationId: string },
): Promise<IndexRuns[]> {
  const draws: IndexRuns[] = [];
  for (const [f, field] of fields.entries()) {
    // A certificate field draws nothing here: the unit asks its CA for a certificate later.
    if (field.kind === 'certificate') {
      draws.push([]);
      continue;
    }
    const count = units * indexesPerUnit(field);
    const claimed = returns ? await claimReturnedValues(db, accountId, field, f, count, returns.authorizationId) : [];
    const fresh = count - runsLength(claimed);
    if (fresh === 0) {
      draws.push(claimed);
      continue;
    }
    draws.push([...claimed, ...(await takeIndexes(db, sourceKeyOf(accountId, field), field.capacity, fresh, exhaustedOf(field), indexesPerUnit(field)))]);
  }
  return draws;
}

/** Returned items read per claim: enough for any authorization's needs in practice, a bound on one request's reads. */
const RETURNS_READ = 10;

/**
 * Values of failed units that went back to the source (onFailure return), taken before any fresh
 * value. Each returned item is claimed by deleting it under `attribute_exists`: of concurrent
 * claimers exactly one gets it, so a returned value is handed out again exactly once. What the
 * claimer does not need goes back as a new item named after its own authorization. Values
 * claimed by a request that then dies are burned, never handed out twice.
 */
async function claimReturnedValues(db: Db, accountId: string, field: UnitFieldDefinition, fieldIndex: number, needed: number, authorizationId: string): Promise<IndexRuns> {
  const per = indexesPerUnit(field);
  const { Items = [] } = await withFaultRetry(() =>
    db.doc.send(
      new QueryCommand({
        TableName: db.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.returnedValuesPartition(accountId, field.sourceId) },
        ConsistentRead: true,
        Limit: RETURNS_READ,
      }),
    ),
  );
  const taken: IndexRuns = [];
  let leftovers = 0;
  // Only groups of this field's size: another job may take a different number of addresses a unit.
  for (const item of Items.filter((candidate) => candidate.perUnit === per)) {
    if (runsLength(taken) >= needed) break;
    let old: Record<string, unknown> | undefined;
    try {
      ({ Attributes: old } = await withFaultRetry(() =>
        db.doc.send(new DeleteCommand({ TableName: db.table, Key: { pk: item.pk, sk: item.sk }, ConditionExpression: 'attribute_exists(pk)', ReturnValues: 'ALL_OLD' })),
      ));
    } catch (error) {
      if (isConditionFailure(error)) continue; // claimed by someone else first
      throw error;
    }
    const [mine, rest] = splitRuns(old!.runs as IndexRuns, needed - runsLength(taken));
    taken.push(...mine);
    if (rest.length > 0) {
      leftovers += 1;
      await withFaultRetry(() =>
        db.doc.send(new PutCommand({ TableName: db.table, Item: { ...keys.returnedValues(accountId, field.sourceId, authorizationId, fieldIndex, `rest${leftovers}`), runs: rest, perUnit: per } })),
      );
    }
  }
  return taken;
}

/**
 * The writes that give failed units' values back to their sources, for the transaction of the
 * report that records the failures: the report's reported-unit bits make it happen once per
 * unit, however often the report is retried.
 */
export function returnedValuesWrites(
  db: Db,
  accountId: string,
  authorizationId: string,
  fields: readonly UnitFieldDefinition[],
  draws: readonly IndexRuns[],
  failedUnits: readonly number[],
) {
  if (failedUnits.length === 0) return [];
  const firstUnit = Math.min(...failedUnits);
  return fields.flatMap((field, f) =>
    // A certificate field took nothing from a source, so it gives nothing back.
    field.kind === 'certificate'
      ? []
      : [
          {
            Put: {
              TableName: db.table,
              Item: {
                ...keys.returnedValues(accountId, field.sourceId, authorizationId, f, String(firstUnit)),
                runs: toRuns(failedUnits.flatMap((unit) => unitIndexes(field, draws[f] ?? [], unit))),
                perUnit: indexesPerUnit(field),
              },
            },
          },
        ],
  );
}

/**
 * What this server holds of each source it took from (shared/domain/source-leases.ts), by source
 * item and group size: a unit's `perUnit` MAC addresses must be consecutive, so values are held in
 * whole groups, apart for each size that jobs take from one block.
 */
const heldBySource = new Map<string, HeldValues>();

/**
 * Takes `count` indexes of a source (a serial pool, MAC block or data list: each keeps `issued`
 * and `capacity`): first from what this server already holds of it, then the rest, with the
 * spare the source's recent use here warrants (whole groups of `groupSize`), in ONE atomic conditional update. DynamoDB
 * serializes concurrent takers, so two servers (and two jobs on one pool) never get the same
 * index, and none waits for another to retry. A source without room for what is missing is a 409
 * naming what is left; what this server held for the request stays held.
 */
export async function takeIndexes(
  db: Db,
  key: { pk: string; sk: string },
  capacity: number,
  count: number,
  exhausted: (remaining: number) => ConflictError,
  groupSize = 1,
  nowMs = Date.now(),
): Promise<IndexRuns> {
  const sourceId = `${key.pk}\n${key.sk}\n${groupSize}`;
  const held = heldBySource.get(sourceId) ?? emptyHeldValues();
  heldBySource.set(sourceId, held);
  const lately = takenLately(held, nowMs);
  held.recent.push({ atMs: nowMs, count });
  const { taken, missing } = takeHeld(held, count);
  if (missing === 0) return taken;
  const spare = spareToTake(lately, held.remaining, groupSize, runsLength(held.free) + held.pendingSpare);
  held.pendingSpare += spare;
  try {
    let answer = await takeFromSource(db, key, capacity, missing + spare).finally(() => (held.pendingSpare -= spare));
    // The spare did not fit but the need does: take just that.
    if (answer.kind === 'short' && spare > 0 && answer.remaining >= missing) answer = await takeFromSource(db, key, capacity, missing);
    if (answer.kind === 'short') {
      held.remaining = answer.remaining;
      throw exhausted(answer.remaining + runsLength(taken) + runsLength(held.free));
    }
    held.remaining = answer.remaining;
    const [mine, rest] = splitRuns([[answer.first, answer.count]], missing);
    holdValues(held, rest);
    return [...taken, ...mine];
  } catch (error) {
    holdValues(held, taken);
    throw error;
  }
}

/** Values this server holds of a source for its next requests (taken from the source, not yet handed out): for tests' accounting. */
export function heldValuesOf(key: { pk: string; sk: string }, groupSize = 1): number {
  return runsLength(heldBySource.get(`${key.pk}\n${key.sk}\n${groupSize}`)?.free ?? []);
}

type SourceAnswer = { kind: 'taken'; first: number; count: number; remaining: number } | { kind: 'short'; remaining: number };

/** One conditional `ADD issued`: the first of `count` new indexes, or how many the source has left. */
async function takeFromSource(db: Db, key: { pk: string; sk: string }, capacity: number, count: number): Promise<SourceAnswer> {
  try {
    const output = await withFaultRetry(() =>
      db.doc.send(
        new UpdateCommand({
          TableName: db.table,
          Key: key,
          UpdateExpression: 'ADD issued :count',
          // A source's capacity never changes, so the caller's copy of it is exact.
          ConditionExpression: 'attribute_exists(pk) AND issued <= :lastAllowed',
          ExpressionAttributeValues: { ':count': count, ':lastAllowed': capacity - count },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    const issued = Number(output.Attributes?.issued);
    return { kind: 'taken', first: issued - count, count, remaining: capacity - issued };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const old = (error as { Item?: Record<string, { N?: string }> }).Item;
    return { kind: 'short', remaining: old?.issued?.N !== undefined ? Math.max(0, capacity - Number(old.issued.N)) : 0 };
  }
}

export const serialsExhausted = (serialPoolId: string) => (remaining: number) =>
  new ConflictError('serials_exhausted', remaining === 0 ? 'This serial pool is used up' : `Only ${remaining} value(s) remain in this serial pool`, { serialPoolId, remaining });

export const dataListExhausted = (dataListId: string) => (remaining: number) =>
  new ConflictError('data_list_exhausted', remaining === 0 ? 'This data list is used up' : `Only ${remaining} row(s) remain in this data list`, { dataListId, remaining });

export const macsExhausted = (macBlockId: string) => (remaining: number) =>
  new ConflictError('macs_exhausted', remaining === 0 ? 'This MAC block is used up' : `Only ${remaining} address(es) remain in this MAC block`, { macBlockId, remaining });

