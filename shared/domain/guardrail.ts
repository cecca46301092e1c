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
