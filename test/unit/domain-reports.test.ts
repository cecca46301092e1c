import { describe, expect, it } from 'vitest';
import { ReportedSet, planReport, releaseOutcome } from '../../shared/domain/reports.js';
import { decodeResultBatch, encodeResultBatch } from '../../shared/store/result-batches.js';

const granted = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J'];
const ok = (serial: string) => ({ serial, status: 'success' as const });

describe('ReportedSet', () => {
  it('keeps one bit per granted unit and survives a round trip through its bytes', () => {
    const set = ReportedSet.empty(10).with([0, 8, 9]);
    expect(set.toBytes()).toEqual(new Uint8Array([0b0000_0001, 0b0000_0011]));
    const again = ReportedSet.fromBytes(10, set.toBytes());
    expect([0, 1, 8, 9].map((offset) => again.has(offset))).toEqual([true, false, true, true]);
    expect(again.count).toBe(3);
    expect(again.missing()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(ReportedSet.fromBytes(10, undefined).count).toBe(0);
  });

  it('does not change the set it was made from', () => {
    const before = ReportedSet.empty(3);
    before.with([1]);
    expect(before.count).toBe(0);
  });
});

describe('planReport', () => {
  it('counts only units not reported before, and a repeat inside the request once', () => {
    const reported = ReportedSet.empty(10).with([1]);
    const plan = planReport('auth_1', granted, reported, [ok('A'), ok('B'), ok('C'), ok('A')], false);
    expect(plan.fresh.map(({ offset, result }) => [offset, result.serial])).toEqual([[0, 'A'], [2, 'C']]);
    expect(plan.duplicates).toBe(2);
  });

  it('refuses the whole request when one serial was not granted or contradicts itself', () => {
    expect(() => planReport('auth_1', granted, ReportedSet.empty(10), [ok('A'), ok('Z')], false)).toThrow(/results.1.serial: Z was not granted/);
    expect(() => planReport('auth_1', granted, ReportedSet.empty(10), [ok('A'), { serial: 'A', status: 'failure' }], false)).toThrow(/reported twice with different outcomes/);
  });

  it('after a release, refuses units that went back and calls reported ones duplicates', () => {
    const reported = ReportedSet.empty(10).with([0]);
    expect(planReport('auth_1', granted, reported, [ok('A')], true)).toEqual({ fresh: [], duplicates: 1 });
    expect(() => planReport('auth_1', granted, reported, [ok('A'), ok('C')], true)).toThrow(
      expect.objectContaining({ status: 409, code: 'authorization_released', details: { authorizationId: 'auth_1', serials: ['C'] } }),
    );
  });
});

describe('releaseOutcome', () => {
  it('gives back exactly the units without a reported result, in grant order', () => {
    expect(releaseOutcome(['A', 'B', 'C', 'D'], ReportedSet.empty(4).with([1, 3]))).toEqual({ reported: 2, returned: 2, returnedSerials: ['A', 'C'] });
    expect(releaseOutcome(['A'], ReportedSet.empty(1).with([0]))).toEqual({ reported: 1, returned: 0, returnedSerials: [] });
  });
});

describe('result batches', () => {
  it('store a report compactly and give back exactly what was reported', () => {
    const reportedAt = Date.parse('2026-11-27T10:00:00.000Z');
    let at = reportedAt - 400_000;
    const results = Array.from({ length: 100 }, (_, i) => {
      at += 2_000 + ((i * 7919) % 1_500);
      return {
        serial: `SN-${String(1_000 + i).padStart(8, '0')}`,
        status: i % 50 === 7 ? ('failure' as const) : ('success' as const),
        ...(i % 50 === 7 && { errorCode: 'VERIFY_FAILED' }),
        durationMs: 2_000 + ((i * 104_729) % 1_500),
        at: new Date(at).toISOString(),
      };
    });
    results.push({ serial: 'SN-X', status: 'success', at: '2026-11-27T11:00:00.123456+01:00' } as (typeof results)[number]);
    results.push({ serial: 'SN-Y', status: 'success' } as (typeof results)[number]);
    const bytes = encodeResultBatch(results, reportedAt);
    // The budget the cost model counts on: a 100-unit report in one write unit with its keys.
    expect(bytes.length).toBeLessThan(800);
    expect(decodeResultBatch(bytes, reportedAt)).toEqual(
      results.map((r) => ({ serial: r.serial, status: r.status, errorCode: r.errorCode ?? null, durationMs: r.durationMs ?? null, at: r.at ?? null })),
    );
  });
});
