import { describe, expect, it } from 'vitest';
import { type AutoPause, failuresCeilingBelowRate, guardrailCrossed } from '../../shared/domain/guardrail.js';

/** Brute force: the largest failure count F ≥ read for which (F + added) failures stay below the rate. */
function bruteCeiling(autoPause: AutoPause, succeeded: number, read: number, added: { succeeded: number; failed: number }): number | undefined {
  const below = (failed: number) => {
    const s = succeeded + added.succeeded;
    const f = failed + added.failed;
    return !(s + f > 0 && f / (s + f) >= autoPause.failureRate);
  };
  if (!below(read)) return undefined;
  let f = read;
  while (below(f + 1) && f < 1_000_000) f += 1;
  return f;
}

describe('failuresCeilingBelowRate', () => {
  it('matches a brute-force search over rates, counters and report sizes', () => {
    for (const failureRate of [0.01, 0.1, 0.25, 0.3, 1 / 3, 0.5, 0.75, 0.999]) {
      for (const succeeded of [0, 1, 7, 20, 133]) {
        for (const read of [0, 1, 3, 12]) {
          for (const added of [{ succeeded: 1, failed: 0 }, { succeeded: 0, failed: 1 }, { succeeded: 5, failed: 3 }, { succeeded: 0, failed: 0 }]) {
            const autoPause = { failureRate, minUnits: 20 };
            expect(failuresCeilingBelowRate(autoPause, succeeded, read, added), JSON.stringify({ failureRate, succeeded, read, added })).toBe(bruteCeiling(autoPause, succeeded, read, added));
          }
        }
      }
    }
  });

  it('never lets a report conditioned on the ceiling cross, whatever else lands first', () => {
    const autoPause = { failureRate: 0.3, minUnits: 1 };
    const ceiling = failuresCeilingBelowRate(autoPause, 50, 4, { succeeded: 0, failed: 1 })!;
    expect(ceiling).toBeGreaterThan(4);
    // Any interleaving leaves at least 50 successes and at most `ceiling` failures before this report.
    for (let failed = 4; failed <= ceiling; failed += 1) for (const succeeded of [50, 51, 80]) expect(guardrailCrossed(autoPause, succeeded, failed + 1)).toBe(false);
    expect(guardrailCrossed(autoPause, 50, ceiling + 2)).toBe(true);
  });

  it('has no ceiling when the rate is reached already: the report decides on exact counters', () => {
    expect(failuresCeilingBelowRate({ failureRate: 0.3, minUnits: 20 }, 2, 5, { succeeded: 1, failed: 0 })).toBeUndefined();
    expect(failuresCeilingBelowRate({ failureRate: 0, minUnits: 20 }, 10, 0, { succeeded: 1, failed: 0 })).toBeUndefined();
  });

  it('lets failures grow without bound at a rate of 1 while there is a success, and not without one', () => {
    expect(failuresCeilingBelowRate({ failureRate: 1, minUnits: 20 }, 1, 3, { succeeded: 0, failed: 1 })).toBe(Number.MAX_SAFE_INTEGER);
    expect(failuresCeilingBelowRate({ failureRate: 1, minUnits: 20 }, 0, 0, { succeeded: 0, failed: 1 })).toBeUndefined();
  });
});
