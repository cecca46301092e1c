import { type IndexRuns, runsLength, splitRuns, toRuns } from './unit-data.js';

/**
 * Values a server takes from a shared source (serial pool, MAC block, data list) beyond what the
 * request in hand needs, so that the next requests it serves take theirs from memory rather than
 * with another write to the source item (issue 8: unit fields must keep the authorization path's
 * throughput). Spare values belong to this server alone — the atomic `ADD issued` that took them
 * serializes every taker — so none is ever handed out twice; a server that stops burns what it
 * held. How much it may hold is bounded three ways:
 * - by what it took from the source in the last second: a quiet server (and the first request
 *   of any server) takes exactly what it needs, so a source used now and then stays dense;
 * - by a share of what the source has left, so a small or nearly used-up source stays exact and
 *   no value waits in one server while another server's request is refused as exhausted;
 * - by a constant, the most one server can ever burn of one source.
 */
export const MAX_SPARE_VALUES = 32;
/** A server holds at most this fraction of what the source had left when it last took from it. */
export const SPARE_SHARE_OF_REMAINING = 1 / 64;
export const SPARE_WINDOW_MS = 1_000;

export interface HeldValues {
  /** Taken from the source and not yet handed out, ascending. */
  free: IndexRuns;
  /** What this server took (handed out) lately, for the spare's size. */
  recent: { atMs: number; count: number }[];
  /** capacity − issued as the source answered this server's last take; unknown before the first. */
  remaining?: number;
  /** Spare values asked for by takes still in flight (one process may serve concurrent requests). */
  pendingSpare: number;
}

export function emptyHeldValues(): HeldValues {
  return { free: [], recent: [], pendingSpare: 0 };
}

/** Values handed out in the window before `nowMs` (pruning older records). */
export function takenLately(held: HeldValues, nowMs: number): number {
  held.recent = held.recent.filter((take) => take.atMs > nowMs - SPARE_WINDOW_MS);
  return held.recent.reduce((sum, take) => sum + take.count, 0);
}

/**
 * How many values beyond the need to take from the source now: whole groups (a unit's
 * consecutive MAC addresses). The bounds hold for all the server holds, so `alreadyHeld` (held
 * and asked for by takes in flight) counts against them.
 */
export function spareToTake(takenLastWindow: number, remaining: number | undefined, groupSize = 1, alreadyHeld = 0): number {
  if (remaining === undefined) return 0;
  const values = Math.max(0, Math.min(MAX_SPARE_VALUES, takenLastWindow, Math.floor(remaining * SPARE_SHARE_OF_REMAINING)) - alreadyHeld);
  return values - (values % groupSize);
}

/** Hands out up to `count` held values (the lowest first); answers them and how many are still missing. */
export function takeHeld(held: HeldValues, count: number): { taken: IndexRuns; missing: number } {
  const [taken, rest] = splitRuns(held.free, count);
  held.free = rest;
  return { taken, missing: count - runsLength(taken) };
}

/** Puts values back among the held ones (a refused request's, or a new take's spare), kept ascending. */
export function holdValues(held: HeldValues, runs: IndexRuns): void {
  if (runs.length === 0) return;
  held.free = toRuns([...runs, ...held.free].flatMap(([first, count]) => Array.from({ length: count }, (_, i) => first + i)).sort((a, b) => a - b));
}
