import { describe, expect, it } from 'vitest';
import { MAX_SPARE_VALUES, emptyHeldValues, holdValues, spareToTake, takeHeld, takenLately } from '../../shared/domain/source-leases.js';

describe('spare values a server holds of a shared source', () => {
  it('takes none on its first take (what the source has left is unknown) nor when quiet', () => {
    expect(spareToTake(10, undefined)).toBe(0);
    expect(spareToTake(0, 1_000_000)).toBe(0);
  });

  it('takes what it handed out in the last second, at most a 64th of what is left and at most the constant', () => {
    expect(spareToTake(5, 1_000_000)).toBe(5);
    expect(spareToTake(500, 1_000_000)).toBe(MAX_SPARE_VALUES);
    expect(spareToTake(20, 640)).toBe(10);
    // A small or nearly used-up source stays exact: no value waits in one server while another is refused.
    expect(spareToTake(20, 63)).toBe(0);
  });

  it('counts what it already holds, or has asked for, against the bounds', () => {
    expect(spareToTake(20, 1_000_000, 1, 15)).toBe(5);
    expect(spareToTake(20, 640, 1, 10)).toBe(0);
  });

  it('takes whole groups, so a unit’s perUnit addresses stay consecutive', () => {
    expect(spareToTake(7, 1_000_000, 3)).toBe(6);
    expect(spareToTake(2, 1_000_000, 3)).toBe(0);
  });

  it('hands out the lowest held values first and keeps what is put back in order', () => {
    const held = emptyHeldValues();
    holdValues(held, [[10, 3]]);
    holdValues(held, [[4, 2]]);
    expect(held.free).toEqual([[4, 2], [10, 3]]);
    expect(takeHeld(held, 3)).toEqual({ taken: [[4, 2], [10, 1]], missing: 0 });
    expect(takeHeld(held, 5)).toEqual({ taken: [[11, 2]], missing: 3 });
    expect(held.free).toEqual([]);
  });

  it('counts what was handed out within the window only', () => {
    const held = emptyHeldValues();
    held.recent.push({ atMs: 1_000, count: 4 }, { atMs: 1_600, count: 2 });
    expect(takenLately(held, 1_900)).toBe(6);
    expect(takenLately(held, 2_100)).toBe(2);
    expect(held.recent).toEqual([{ atMs: 1_600, count: 2 }]);
  });
});
