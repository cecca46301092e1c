import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type DataListColumn, ROWS_PER_CHUNK, RowParseError, chunkOf, csvRecords, parseRows, rowOf, toChunks } from '../../shared/domain/data-lists.js';
import { open, seal } from '../../shared/domain/sealing.js';
import { parseSerialFormat, poolIndexOf, poolValueAt } from '../../shared/domain/serial-format.js';
import { type UnitFieldDefinition, buildUnitData } from '../../shared/domain/unit-data.js';

const columns: DataListColumn[] = [
  { name: 'label', secret: false, maxLength: 20 },
  { name: 'key', secret: true, maxLength: 64 },
];

function issueOf(run: () => unknown) {
  try {
    run();
  } catch (error) {
    if (error instanceof RowParseError) return error.issue;
    throw error;
  }
  throw new Error('expected a RowParseError');
}

describe('data list uploads', () => {
  it('reads RFC 4180 CSV: quoted commas, doubled quotes, line breaks inside quotes, CRLF, blank lines', () => {
    const text = 'a,b\r\n"x,1","say ""hi"""\r\n\r\n"two\nlines",z\n';
    expect([...csvRecords(text)]).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x,1', 'say "hi"'] },
      { line: 4, fields: ['two\nlines', 'z'] },
    ]);
  });

  it('takes a CSV header in any order and gives rows in the list column order', () => {
    expect(parseRows(columns, 'csv', 'key,label\nK1,one\nK2,two\n')).toEqual([
      ['one', 'K1'],
      ['two', 'K2'],
    ]);
  });

  it('takes JSON lines with exactly the columns', () => {
    expect(parseRows(columns, 'jsonl', '{"label":"one","key":"K1"}\n\n{"key":"K2","label":"two"}')).toEqual([
      ['one', 'K1'],
      ['two', 'K2'],
    ]);
  });

  it('names the line and column of the first bad row', () => {
    expect(issueOf(() => parseRows(columns, 'csv', 'label,key\nok,K1\n,K2\n'))).toEqual({ line: 3, column: 'label', message: 'must not be empty' });
    expect(issueOf(() => parseRows(columns, 'csv', 'label,key\nok,K1,extra\n'))).toMatchObject({ line: 2, message: 'has 3 values, the header 2' });
    expect(issueOf(() => parseRows(columns, 'csv', 'label\nok\n'))).toEqual({ line: 1, column: 'key', message: 'the header does not name this column' });
    expect(issueOf(() => parseRows(columns, 'csv', 'label,key\nthis label is far too long,K\n'))).toEqual({ line: 2, column: 'label', message: 'is longer than 20 characters' });
    expect(issueOf(() => parseRows(columns, 'jsonl', '{"label":"a","key":"b"}\n{"label":"a"}'))).toEqual({ line: 2, column: 'key', message: 'is missing' });
    expect(issueOf(() => parseRows(columns, 'jsonl', '{"label":"a","key":7}'))).toEqual({ line: 1, column: 'key', message: 'must be a string' });
    expect(issueOf(() => parseRows(columns, 'jsonl', '{"label":"a","key":"b","x":"c"}'))).toEqual({ line: 1, column: 'x', message: 'is not a column of this list' });
    expect(issueOf(() => parseRows(columns, 'jsonl', 'not json'))).toEqual({ line: 1, message: 'is not valid JSON' });
    expect(issueOf(() => parseRows(columns, 'csv', 'label,key\n"open,K\n'))).toEqual({ line: 2, message: 'a quoted value is not closed' });
    expect(issueOf(() => parseRows(columns, 'csv', 'label,key\n'))).toEqual({ line: 1, message: 'the upload has no rows' });
  });

  it('keeps secret columns only sealed in chunks, and gives the rows back whole with the key', () => {
    const key = randomBytes(32);
    const rows = Array.from({ length: ROWS_PER_CHUNK + 5 }, (_, i) => [`label-${i}`, `secret-${i}`]);
    const chunks = toChunks(columns, rows, (chunk, plaintext) => seal(key, `acct/list/upl/${chunk}`, plaintext));
    expect(chunks).toHaveLength(2);
    expect(JSON.stringify(chunks[0]!.plain)).not.toContain('secret-');
    expect(Buffer.from(chunks[0]!.sealed!).toString('latin1')).not.toContain('secret-');
    const { chunk, offset } = chunkOf(ROWS_PER_CHUNK + 3);
    const hidden = JSON.parse(open(key, `acct/list/upl/${chunk}`, chunks[chunk]!.sealed!)) as string[][];
    expect(rowOf(columns, chunks[chunk]!.plain[offset]!, hidden[offset]!)).toEqual([`label-${ROWS_PER_CHUNK + 3}`, `secret-${ROWS_PER_CHUNK + 3}`]);
  });

  it('refuses to open a sealed chunk under another identity or key', () => {
    const key = randomBytes(32);
    const sealed = seal(key, 'acct-a/list/upl/0', '[["s"]]');
    expect(() => open(key, 'acct-b/list/upl/0', sealed)).toThrow();
    expect(() => open(randomBytes(32), 'acct-a/list/upl/0', sealed)).toThrow();
  });

  it('puts each column of a data-list row into unitData as field.column', () => {
    const list: UnitFieldDefinition = { name: 'cred', kind: 'list', sourceId: 'list_1', capacity: 10, uploadId: 'upl_1', columns: [{ name: 'label', secret: false }, { name: 'key', secret: true }] };
    expect(buildUnitData(['A', 'B'], [list], [[[4, 2]]], [[['l4', 'k4'], ['l5', 'k5']]])).toEqual([
      { serial: 'A', fields: { 'cred.label': 'l4', 'cred.key': 'k4' } },
      { serial: 'B', fields: { 'cred.label': 'l5', 'cred.key': 'k5' } },
    ]);
  });
});

describe('serial format inverse', () => {
  it.each([
    ['SN-{n:08}', 0, 1],
    ['SN-{n}', 5, 3],
    ['AB{chars:0-9A-Z}{chars:0-9A-Z}-{X:4}{check:mod37-36}', 0, 7],
    ['M{x:6}', 10, 1],
    ['{n:06}{check:luhn}', 10, 1],
    ['P{n:05}{check:mod11-10}', 0, 1],
  ])('maps every value of %s back to its pool index', (format, start, step) => {
    const parsed = parseSerialFormat(format);
    for (const index of [0, 1, 2, 37, 999, 12_345]) {
      const value = poolValueAt(parsed, start, step, index);
      expect(poolIndexOf(parsed, start, step, value), value).toBe(index);
    }
  });

  it('answers undefined for text the pool cannot have issued', () => {
    const parsed = parseSerialFormat('SN-{n:08}{check:luhn}');
    const value = poolValueAt(parsed, 0, 1, 42);
    const wrongCheck = value.slice(0, -1) + String((Number(value.at(-1)) + 1) % 10);
    expect(poolIndexOf(parsed, 0, 1, wrongCheck)).toBeUndefined();
    expect(poolIndexOf(parsed, 0, 1, `X${value.slice(1)}`)).toBeUndefined();
    expect(poolIndexOf(parsed, 0, 1, value.slice(1))).toBeUndefined();
    expect(poolIndexOf(parseSerialFormat('SN-{n}'), 0, 1, 'SN-007')).toBeUndefined();
    // start 10, step 2: odd values and values below start were never issued.
    expect(poolIndexOf(parseSerialFormat('{n:04}'), 10, 2, '0011')).toBeUndefined();
    expect(poolIndexOf(parseSerialFormat('{n:04}'), 10, 2, '0008')).toBeUndefined();
    expect(poolIndexOf(parseSerialFormat('{n:04}'), 10, 2, '0012')).toBe(1);
  });
});
