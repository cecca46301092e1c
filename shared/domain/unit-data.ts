/**
 * Per-unit data (api.md "Per-unit data"): which value of which source each unit of an
 * authorization gets, how it is written, and the digest (`ud`) that the ticket signs. Pure: the
 * store takes the indexes from the sources (atomically) and hands them here.
 */
import { createHash } from 'node:crypto';
import { parseSerialFormat, poolValueAt, type SerialFormat } from './serial-format.js';

/** A job's field as the job stores it: the source, and what renders its values (sources never change them). */
export type UnitFieldDefinition =
  | { name: string; kind: 'serial'; sourceId: string; format: string; start: number; step: number; capacity: number }
  | { name: string; kind: 'mac'; sourceId: string; first: number; capacity: number; perUnit: number }
  /** A device certificate from this CA: drawn from no source; the unit's value names the CA it asks (POST /v1/device/certificates). */
  | { name: string; kind: 'certificate'; sourceId: string }
  | { name: string; kind: 'list'; sourceId: string; capacity: number; uploadId: string; columns: { name: string; secret: boolean }[] };

/** Source indexes given to an authorization, as `[first, count]` runs in the order its units get them. */
export type IndexRuns = [first: number, count: number][];

export interface UnitDataEntry {
  serial: string;
  fields: Record<string, string | string[]>;
}

/** How many source indexes one unit takes of a field: one serial, `perUnit` addresses, none for a certificate. */
export function indexesPerUnit(field: UnitFieldDefinition): number {
  return field.kind === 'mac' ? field.perUnit : field.kind === 'certificate' ? 0 : 1;
}

/** EUI-48 as six upper-case hex pairs joined by colons (00:1B:C5:00:00:2A). */
export function formatMac(address: number): string {
  return address.toString(16).toUpperCase().padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

/** A MAC address in any common notation (colons, dashes, dots or none) as a number, or undefined. */
export function parseMac(text: string): number | undefined {
  const hex = text.replace(/[:.-]/g, '');
  return /^[0-9A-Fa-f]{12}$/.test(hex) ? Number.parseInt(hex, 16) : undefined;
}

const formats = new Map<string, SerialFormat>();
function formatOf(source: string): SerialFormat {
  let format = formats.get(source);
  if (!format) {
    format = parseSerialFormat(source);
    formats.set(source, format);
  }
  return format;
}

function* indexesOf(runs: IndexRuns): Generator<number> {
  for (const [first, count] of runs) for (let i = 0; i < count; i += 1) yield first + i;
}

/** The names a field fills in each unit's `fields`: its own, or `{field}.{column}` for each column of a data list. */
export function unitFieldNames(field: UnitFieldDefinition): string[] {
  return field.kind === 'list' ? field.columns.map((column) => `${field.name}.${column.name}`) : [field.name];
}

/**
 * The data of each unit, in the order of `serials`: unit i gets the i-th value (serial pools),
 * the i-th group of `perUnit` addresses (MAC blocks) or the i-th row (data lists: `rows[f]`,
 * read by the store in draw order) of each field's runs.
 */
export function buildUnitData(
  serials: readonly string[],
  fields: readonly UnitFieldDefinition[],
  draws: readonly IndexRuns[],
  rows: readonly (readonly string[][] | undefined)[] = [],
): UnitDataEntry[] {
  const columns = fields.map((field, f): [string, string | string[]][][] => {
    const indexes = [...indexesOf(draws[f] ?? [])];
    const per = indexesPerUnit(field);
    if (indexes.length !== serials.length * per) throw new Error(`field ${field.name} was given ${indexes.length} values for ${serials.length} units`);
    return serials.map((_, unit) => {
      const mine = indexes.slice(unit * per, (unit + 1) * per);
      if (field.kind === 'certificate') return [[field.name, field.sourceId]];
      if (field.kind === 'serial') return [[field.name, poolValueAt(formatOf(field.format), field.start, field.step, mine[0] as number)]];
      if (field.kind === 'mac') return [[field.name, mine.map((index) => formatMac(field.first + index))]];
      const row = rows[f]?.[unit];
      if (!row) throw new Error(`field ${field.name} was given no row for unit ${unit}`);
      return field.columns.map((column, c) => [`${field.name}.${column.name}`, row[c] as string]);
    });
  });
  return serials.map((serial, unit) => ({
    serial,
    fields: Object.fromEntries(fields.flatMap((_, f) => columns[f]![unit]!)),
  }));
}

/** The source indexes unit `unit` (its place in the authorization) holds of a field. */
export function unitIndexes(field: UnitFieldDefinition, runs: IndexRuns, unit: number): number[] {
  const per = indexesPerUnit(field);
  return [...indexesOf(runs)].slice(unit * per, (unit + 1) * per);
}

/** Indexes as runs of consecutive ones, in order (what a return or a draw stores). */
export function toRuns(indexes: readonly number[]): IndexRuns {
  const runs: IndexRuns = [];
  for (const index of indexes) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === index) last[1] += 1;
    else runs.push([index, 1]);
  }
  return runs;
}

/** Splits runs after `count` indexes: what a claimer takes, and what it puts back. */
export function splitRuns(runs: IndexRuns, count: number): [taken: IndexRuns, rest: IndexRuns] {
  const all = [...indexesOf(runs)];
  return [toRuns(all.slice(0, count)), toRuns(all.slice(count))];
}

export function runsLength(runs: IndexRuns): number {
  return runs.reduce((sum, [, count]) => sum + count, 0);
}

/** JSON with every object's keys sorted and no spaces: the one byte form `ud` is computed over. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The ticket's `ud`: base64url SHA-256 of the canonical JSON of `unitData`. */
export function unitDataDigest(unitData: readonly UnitDataEntry[]): string {
  return createHash('sha256').update(canonicalJson(unitData), 'utf8').digest('base64url');
}
