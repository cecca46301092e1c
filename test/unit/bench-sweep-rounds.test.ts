import { describe, expect, it } from 'vitest';
import { median, medianPhase } from '../../bench/lib/sweep.js';

describe('the sweep rounds', () => {
  it('takes the middle of an odd count and the mean of the two middles of an even one', () => {
    expect(median([40.8, 40, 40.8])).toBe(40.8);
    expect(median([56.1, 45.2, 51.6])).toBe(51.6);
    expect(median([1, 4, 2, 3])).toBe(2.5);
  });

  it('sums the counts of the rounds and takes the median of their rates and percentiles', () => {
    const round = (perSecond: number, p95: number, non2xx: Record<string, number> = {}) => ({ requests: 100, ok: 99, non2xx, perSecond, p50: perSecond / 2, p95, p99: p95 * 2 });
    const merged = medianPhase([round(45.2, 130, { '429 throttled': 1 }), round(56.1, 110), round(51.6, 127, { '429 throttled': 2, '0 timeout': 1 })]);
    expect(merged).toEqual({ requests: 300, ok: 297, non2xx: { '429 throttled': 3, '0 timeout': 1 }, perSecond: 51.6, p50: 25.8, p95: 127, p99: 254 });
  });
});
