import type { ResultInput } from '../domain/reports.js';
import { compactText, expandText } from './compression.js';

/**
 * How one report's results are stored: a single item per report (not one per unit), its results
 * as columns (serial, status, duration, device time, error code) compressed
 * with Brotli. DynamoDB bills writes per started KiB, so this decides what a unit costs: 100
 * results of a typical report (random durations and device times to the millisecond) take about
 * 0.7 KB this way, against 9.4 KB as JSON objects and 3 KB+ as one item per result.
 *
 * Device times are kept exactly: as a millisecond delta from the previous result when the text
 * is the canonical ISO form of that instant, else as the text itself.
 */
interface Columns {
  /** Serials (consecutive ones compress to almost nothing). */
  n: string[];
  /** 1 success, 0 failure. */
  s: number[];
  d: (number | null)[];
  /** Device time as milliseconds after the previous result's (the first: after the report's arrival). */
  t: (number | null)[];
  /** Device times that are not in canonical form, verbatim (null where `t` holds it). */
  x?: (string | null)[];
  e: (string | null)[];
}

export function encodeResultBatch(results: readonly ResultInput[], reportedAtMs: number): Uint8Array {
  let previous = reportedAtMs;
  const columns: Columns = { n: [], s: [], d: [], t: [], e: [] };
  const verbatim: (string | null)[] = [];
  for (const result of results) {
    columns.n.push(result.serial);
    columns.s.push(result.status === 'success' ? 1 : 0);
    columns.d.push(result.durationMs ?? null);
    columns.e.push(result.errorCode ?? null);
    const instant = result.at === undefined ? Number.NaN : Date.parse(result.at);
    if (!Number.isNaN(instant) && new Date(instant).toISOString() === result.at) {
      columns.t.push(instant - previous);
      verbatim.push(null);
      previous = instant;
    } else {
      columns.t.push(null);
      verbatim.push(result.at ?? null);
    }
  }
  if (verbatim.some((value) => value !== null)) columns.x = verbatim;
  return compactText(JSON.stringify(columns));
}

export interface StoredResult {
  serial: string;
  status: ResultInput['status'];
  errorCode: string | null;
  durationMs: number | null;
  /** Device time as reported; null when the device sent none. */
  at: string | null;
}

export function decodeResultBatch(bytes: Uint8Array, reportedAtMs: number): StoredResult[] {
  const columns = JSON.parse(expandText(bytes)) as Columns;
  let previous = reportedAtMs;
  return columns.n.map((serial, i) => {
    const delta = columns.t[i] ?? null;
    let at: string | null = columns.x?.[i] ?? null;
    if (delta !== null) {
      previous += delta;
      at = new Date(previous).toISOString();
    }
    return { serial, status: columns.s[i] === 1 ? 'success' : 'failure', errorCode: columns.e[i] ?? null, durationMs: columns.d[i] ?? null, at };
  });
}
