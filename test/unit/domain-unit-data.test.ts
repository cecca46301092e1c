import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectedUnitDataDigest } from '../../cli/simulate/tickets.js';
import { overlappingRange } from '../../shared/domain/mac-blocks.js';
import { type UnitFieldDefinition, buildUnitData, canonicalJson, formatMac, parseMac, unitDataDigest } from '../../shared/domain/unit-data.js';

const pool: UnitFieldDefinition = { name: 'sn', kind: 'serial', sourceId: 'pool_1', format: 'B{n:04}', start: 100, step: 2, capacity: 4950 };
const macs: UnitFieldDefinition = { name: 'eth', kind: 'mac', sourceId: 'mac_1', first: 0x001bc5000000, capacity: 1000, perUnit: 2 };

describe('unit data', () => {
  it("gives unit i the i-th pool value and the i-th group of perUnit addresses, in the order of the runs", () => {
    const data = buildUnitData(['SN-1', 'SN-2', 'SN-3'], [pool, macs], [[[7, 1], [3, 2]], [[10, 6]]]);
    expect(data).toEqual([
      { serial: 'SN-1', fields: { sn: 'B0114', eth: ['00:1B:C5:00:00:0A', '00:1B:C5:00:00:0B'] } },
      { serial: 'SN-2', fields: { sn: 'B0106', eth: ['00:1B:C5:00:00:0C', '00:1B:C5:00:00:0D'] } },
      { serial: 'SN-3', fields: { sn: 'B0108', eth: ['00:1B:C5:00:00:0E', '00:1B:C5:00:00:0F'] } },
    ]);
  });

  it('is an empty fields object per unit for a job without unit fields', () => {
    expect(buildUnitData(['A', 'B'], [], [])).toEqual([{ serial: 'A', fields: {} }, { serial: 'B', fields: {} }]);
  });

  it('refuses draws that do not cover every unit', () => {
    expect(() => buildUnitData(['A', 'B'], [pool], [[[0, 1]]])).toThrow(/1 values for 2 units/);
  });

  it('writes canonical JSON with sorted keys at every depth and no spaces', () => {
    expect(canonicalJson([{ serial: 'x', fields: { b: ['1', '2'], a: 'é"' } }])).toBe('[{"fields":{"a":"é\\"","b":["1","2"]},"serial":"x"}]');
  });

  it('digests the canonical JSON as base64url SHA-256, as an independent implementation does', () => {
    const data = buildUnitData(['SN-1', 'SN-2'], [macs, pool], [[[0, 4]], [[0, 2]]]);
    const expected = createHash('sha256').update(canonicalJson(data)).digest('base64url');
    expect(unitDataDigest(data)).toBe(expected);
    expect(expectedUnitDataDigest(data)).toBe(expected);
    expect(unitDataDigest(data)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('MAC addresses and blocks', () => {
  it('prints and reads EUI-48 in the usual notations', () => {
    expect(formatMac(0x001bc500002a)).toBe('00:1B:C5:00:00:2A');
    expect(parseMac('00:1b:c5:00:00:2a')).toBe(0x001bc500002a);
    expect(parseMac('00-1B-C5-00-00-2A')).toBe(0x001bc500002a);
    expect(parseMac('001BC500002A')).toBe(0x001bc500002a);
    expect(parseMac('00:1B:C5:00:00')).toBeUndefined();
    expect(formatMac(2 ** 48 - 1)).toBe('FF:FF:FF:FF:FF:FF');
  });

  it('finds a block sharing any address, and none for adjacent blocks', () => {
    const ranges: [number, number, string][] = [[100, 199, 'mac_a'], [300, 399, 'mac_b']];
    expect(overlappingRange(ranges, 200, 100)).toBeUndefined();
    expect(overlappingRange(ranges, 0, 100)).toBeUndefined();
    expect(overlappingRange(ranges, 199, 1)?.[2]).toBe('mac_a');
    expect(overlappingRange(ranges, 150, 200)?.[2]).toBe('mac_a');
    expect(overlappingRange(ranges, 250, 51)?.[2]).toBe('mac_b');
    expect(overlappingRange(ranges, 0, 1000)?.[2]).toBe('mac_a');
  });
});
