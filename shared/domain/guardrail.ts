/**
 * The yield guardrail (api.md "Jobs: changing restrictions"): a job whose restrictions carry
 * `autoPause` is paused by the write that records the results crossing it. Pure: the store
 * feeds it the counters it read and conditions its write on them.
 */
export interface AutoPause {
  /** 0..1: the share of failures (failed / (succeeded + failed)) that pauses the job. */
  failureRate: number;
  /** Results that must be in before the rate counts (one early failure is no trend). */
  minUnits: number;
}

export function guardrailCrossed(autoPause: AutoPause | null | undefined, succeeded: number, failed: number): boolean {
  if (!autoPause) return false;
  const total = succeeded + failed;
  return total >= autoPause.minUnits && total > 0 && failed / total >= autoPause.failureRate;
}

/** Who paused a job when the guardrail did, in its audit record and its `job.paused` event. */
export const GUARDRAIL_ACTOR = 'guardrail';

/** The guardrail as the job item stores it: two scalar attributes, so writes can condition on them. */
export function storedAutoPause(item: Record<string, unknown>): AutoPause | null {
  return item.autoPauseFailureRate === undefined || item.autoPauseFailureRate === null
    ? null
    : { failureRate: Number(item.autoPauseFailureRate), minUnits: Number(item.autoPauseMinUnits) };
}

/**
 * The most failures the job may hold when a report adding `added` lands, for the failure rate
 * to stay below the guardrail's afterwards — given the job holds at least `succeededAtLeast`
 * successes, as successes only grow within a run. A report whose counter update is conditioned
 * on `failed <= ceiling` cannot make the rate cross however other reports interleave, so
 * reports far from the threshold never invalidate each other (40 concurrent single-unit
 * reports with failures would otherwise re-plan each other into a 429). Undefined when even
 * the failures read would cross: that report decides on exact counters.
 */
export function failuresCeilingBelowRate(autoPause: AutoPause, succeededAtLeast: number, failedRead: number, added: { succeeded: number; failed: number }): number | undefined {
  const successes = succeededAtLeast + added.succeeded;
  // The rate alone: minUnits only delays a pause, it never makes a rate below the guardrail cross.
  const below = (failed: number) => !guardrailCrossed({ failureRate: autoPause.failureRate, minUnits: 0 }, successes, failed + added.failed);
  if (!below(failedRead)) return undefined;
  const rate = autoPause.failureRate;
  // Every failure count keeps the rate below 1 while there is a success.
  if (rate >= 1) return Number.MAX_SAFE_INTEGER;
  // (F + a) / (s + F + a) < r  ⇔  F < (r·s − (1 − r)·a) / (1 − r); then exact integer steps, float-safe.
  let ceiling = Math.max(failedRead, Math.ceil((rate * successes - (1 - rate) * added.failed) / (1 - rate)) - 1);
  while (!below(ceiling)) ceiling -= 1;
  while (below(ceiling + 1)) ceiling += 1;
  return ceiling;
}
