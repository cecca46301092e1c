import { describe, expect, it } from 'vitest';
import {
  MAX_FORMATTED_LENGTH,
  SerialFormatError,
  checkCharacter,
  iso7064HybridCheck,
  luhnCheckDigit,
  parseSerialFormat,
  poolCapacity,
  poolValueAt,
  renderSerial,
} from '../../shared/domain/serial-format.js';

const render = (source: string, value: number) => renderSerial(parseSerialFormat(source), value);

function problemOf(source: string): { path: string; message: string } {
  try {
    parseSerialFormat(source, 'format');
  } catch (error) {
    if (error instanceof SerialFormatError) return error.issue;
    throw error;
  }
  throw new Error(`${source} was accepted`);
}

describe('serial formats: rendering', () => {
  it('writes zero-padded decimal after fixed text, as v1 formats did', () => {
    expect(render('SN-{n:08}', 42)).toBe('SN-00000042');
    expect(render('SN-{n:8}', 42)).toBe('SN-00000042');
    expect(render('SN-{n}', 123456789)).toBe('SN-123456789');
  });

  it('writes upper and lower case hexadecimal with a fixed width', () => {
    expect(render('{X:6}', 0xabc)).toBe('000ABC');
    expect(render('{x:4}', 0xbeef)).toBe('beef');
  });

  it('spreads the value over character positions as a mixed-radix number, rightmost position least significant', () => {
    const source = '{chars:0-9A-F}{chars:0-9A-F}';
    expect(render(source, 0)).toBe('00');
    expect(render(source, 15)).toBe('0F');
    expect(render(source, 16)).toBe('10');
    expect(render(source, 255)).toBe('FF');
    // A set in the order written, not sorted: the value walks the set as given.
    expect(render('{chars:ZYX}', 0)).toBe('Z');
    expect(render('{chars:ACDEFHJKLMNPRTUVWXY3479}{n:2}', 101)).toBe('C01');
  });

  it('combines fields and fixed text: the decimal field carries into the character position to its left', () => {
    const source = 'LOT{chars:A-C}-{n:03}';
    expect(render(source, 999)).toBe('LOTA-999');
    expect(render(source, 1000)).toBe('LOTB-000');
    expect(render(source, 2999)).toBe('LOTC-999');
  });

  it('reads {{ and }} as literal braces', () => {
    expect(render('{{A}}-{n:2}', 7)).toBe('{A}-07');
  });

  it('refuses a value outside the capacity instead of wrapping around', () => {
    expect(() => render('{n:2}', 100)).toThrow(RangeError);
    expect(() => render('{n:2}', -1)).toThrow(RangeError);
  });
});

describe('serial formats: check characters', () => {
  it('Luhn mod 10 matches the published example 7992739871 → 3', () => {
    expect(luhnCheckDigit([7, 9, 9, 2, 7, 3, 9, 8, 7, 1])).toBe(3);
    expect(checkCharacter('luhn', '7992739871')).toBe('3');
  });

  it('ISO/IEC 7064 MOD 11,10 matches the example 0794 → 5', () => {
    expect(iso7064HybridCheck([0, 7, 9, 4], 10)).toBe(5);
  });

  it('ISO/IEC 7064 MOD 37,36 matches the GRid example A1-2425G-ABC1234002 → M', () => {
    expect(checkCharacter('mod37-36', 'A12425GABC1234002')).toBe('M');
    // Fixed separators are skipped, lower case counts as upper case.
    expect(checkCharacter('mod37-36', 'a1-2425g-abc1234002')).toBe('M');
  });

  it('appends the check over the digits before it, skipping fixed letters', () => {
    expect(render('SN-{n:10}{check:luhn}', 7992739871)).toBe('SN-79927398713');
    expect(render('{n:10}{check:luhn}', 7992739871)).toBe('79927398713');
    expect(render('{chars:0-9A-Z}{n:2}{check:mod37-36}/x', 0)).toBe(`000${checkCharacter('mod37-36', '000')}/x`);
  });

  it('detects every single-character change of a Luhn-checked value', () => {
    const format = parseSerialFormat('{n:6}{check:luhn}');
    const value = renderSerial(format, 123456);
    for (let position = 0; position < 6; position += 1) {
      for (const digit of '0123456789') {
        if (digit === value[position]) continue;
        const altered = value.slice(0, position) + digit + value.slice(position + 1, 6);
        expect(checkCharacter('luhn', altered)).not.toBe(value[6]);
      }
    }
  });
});

describe('serial formats: capacity', () => {
  it('is the product of the radices of the variable fields', () => {
    expect(parseSerialFormat('SN-{n:08}').capacity).toBe(100_000_000);
    expect(parseSerialFormat('{X:4}').capacity).toBe(65_536);
    expect(parseSerialFormat('{chars:0-9A-F}{chars:A-Z}-{n:2}{check:mod37-36}').capacity).toBe(16 * 26 * 100);
  });

  it('is the largest safe integer for an unpadded decimal: beyond it numbers lose precision, and the pool item could not store it', () => {
    expect(parseSerialFormat('{n}').capacity).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseSerialFormat('{n}{X:4}').capacity).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('counts the indexes a pool can hand out from its start and step', () => {
    const format = parseSerialFormat('{n:2}');
    expect(poolCapacity(format, 0, 1)).toBe(100);
    expect(poolCapacity(format, 10, 1)).toBe(90);
    expect(poolCapacity(format, 10, 7)).toBe(13); // 10, 17, …, 94
    expect(poolValueAt(format, 10, 7, 12)).toBe('94');
    expect(poolCapacity(format, 100, 1)).toBe(0);
  });
});

describe('serial formats: fixed text', () => {
  it('is a pool of one value: the text itself, once', () => {
    const format = parseSerialFormat('0'.repeat(200).slice(0, 64));
    expect(format.capacity).toBe(1);
    expect(poolCapacity(format, 0, 1)).toBe(1);
    expect(poolCapacity(format, 1, 1)).toBe(0);
    expect(poolValueAt(format, 0, 1, 0)).toBe('0'.repeat(64));
  });
});

describe('serial formats: bad formats name format and say why', () => {
  it.each([
    ['', /empty/],
    ['SN-{n:08', /never closed/],
    ['SN-}{n}', /closes nothing/],
    ['{q:3}', /unknown field/],
    ['{n:abc}', /width must be a number/],
    ['{n:0}', /width must be 1 to/],
    ['{n:99}', /width must be 1 to/],
    ['{X}', /need a width/],
    ['{chars:}', /needs a character set/],
    ['{chars:A}', /at least 2 characters/],
    ['{chars:AA}', /twice/],
    ['{chars:0-9a-f0}', /twice/],
    ['{chars:Z-A}', /backwards/],
    ['{check:crc}{n}', /luhn, mod37-36 or mod11-10/],
    ['{check:luhn}{n:4}', /must come after a variable field/],
    ['{X:4}{check:luhn}', /covers digits only/],
    ['{chars:a-z}{check:mod11-10}', /covers digits only/],
    ['{chars:*-/}{check:mod37-36}', /letters and digits only/],
    ['{n:2}{check:luhn}{n:2}{check:luhn}', /more than one check/],
    ['{n:2}{n}', /must be the first variable field/],
    [`${'x'.repeat(MAX_FORMATTED_LENGTH)}{n:2}`, /at most 64/],
    ['{n:2}'.repeat(50), /longer than 200/],
  ])('%j', (source, why) => {
    const issue = problemOf(source);
    expect(issue.path).toBe('format');
    expect(issue.message).toMatch(why);
  });
});
