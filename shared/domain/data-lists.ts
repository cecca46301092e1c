/**
 * Data lists (api.md "Per-unit data"): rows uploaded once, each given to exactly one unit. Pure:
 * how an upload's text becomes rows (or the first bad line and column), how rows are grouped
 * into chunks by index (their secret columns sealed by sealing.ts). No imports: the contract,
 * the CLI and the console use its limits too.
 */

export interface DataListColumn {
  name: string;
  /** Encrypted at rest; only the authorization response of the programmer that gets the row carries it. */
  secret: boolean;
  /** Longest value accepted, in characters. */
  maxLength: number;
}

export type UploadFormat = 'csv' | 'jsonl';

/** Rows a chunk item holds: an authorization of 1,000 units reads 11 chunks at most, and a chunk of maximal rows stays far below DynamoDB's 400 KB. */
export const ROWS_PER_CHUNK = 100;
export const MAX_COLUMN_LENGTH = 2048;

/** The first thing wrong with an upload: 1-based line and the column it concerns (absent for the whole line). */
export interface RowIssue {
  line: number;
  column?: string;
  message: string;
}

export class RowParseError extends Error {
  constructor(readonly issue: RowIssue) {
    super(`line ${issue.line}${issue.column ? `, column ${issue.column}` : ''}: ${issue.message}`);
    this.name = 'RowParseError';
  }
}

function fail(line: number, message: string, column?: string): never {
  throw new RowParseError({ line, message, ...(column !== undefined && { column }) });
}

/** RFC 4180 records (quoted fields with doubled quotes, CRLF or LF), each with the line it starts on; blank lines skipped. */
export function* csvRecords(text: string): Generator<{ line: number; fields: string[] }> {
  let line = 1;
  let at = 0;
  while (at < text.length) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    let endOfRecord = false;
    let sawAnything = false;
    while (at < text.length && !endOfRecord) {
      const char = text[at] as string;
      if (quoted) {
        if (char === '"' && text[at + 1] === '"') {
          field += '"';
          at += 2;
        } else if (char === '"') {
          quoted = false;
          at += 1;
          const next = text[at];
          if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') fail(startLine, 'a quoted value must end at a comma or the end of the line');
        } else {
          if (char === '\n') line += 1;
          field += char;
          at += 1;
        }
        continue;
      }
      sawAnything = true;
      if (char === '"' && field === '') {
        quoted = true;
        at += 1;
      } else if (char === '"') fail(startLine, 'a quote inside an unquoted value (quote the whole value and double its quotes)');
      else if (char === ',') {
        fields.push(field);
        field = '';
        at += 1;
      } else if (char === '\r' || char === '\n') {
        at += char === '\r' && text[at + 1] === '\n' ? 2 : 1;
        line += 1;
        endOfRecord = true;
      } else {
        field += char;
        at += 1;
      }
    }
    if (quoted) fail(startLine, 'a quoted value is not closed');
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '' && sawAnything)) yield { line: startLine, fields };
  }
}

function checkValue(column: DataListColumn, value: unknown, line: number): string {
  if (typeof value !== 'string') fail(line, 'must be a string', column.name);
  if (value.length === 0) fail(line, 'must not be empty', column.name);
  if (value.length > column.maxLength) fail(line, `is longer than ${column.maxLength} characters`, column.name);
  return value;
}

/**
 * The rows of an upload in the list's column order, or a RowParseError naming the first bad line
 * and column: an upload is taken whole or not at all. CSV starts with a header naming every
 * column once (any order); a JSON line is an object with exactly the columns, string values.
 */
export function parseRows(columns: readonly DataListColumn[], format: UploadFormat, text: string): string[][] {
  const rows: string[][] = [];
  if (format === 'csv') {
    let order: number[] | undefined;
    for (const { line, fields } of csvRecords(text.replace(/^\uFEFF/, ''))) {
      if (!order) {
        for (const name of fields) if (!columns.some((column) => column.name === name)) fail(line, `the header names "${name}", which is not a column of this list`);
        order = columns.map((column) => {
          const position = fields.indexOf(column.name);
          if (position < 0) fail(line, 'the header does not name this column', column.name);
          if (fields.lastIndexOf(column.name) !== position) fail(line, 'the header names this column twice', column.name);
          return position;
        });
        continue;
      }
      if (fields.length !== order.length) fail(line, `has ${fields.length} values, the header ${order.length}`);
      rows.push(columns.map((column, c) => checkValue(column, fields[order![c]!], line)));
    }
    if (!order) fail(1, 'the upload is empty: CSV starts with a header naming the columns');
  } else {
    const lines = text.split(/\r?\n/);
    lines.forEach((raw, i) => {
      if (raw.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        fail(i + 1, 'is not valid JSON');
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(i + 1, 'must be a JSON object with one member per column');
      const record = value as Record<string, unknown>;
      for (const name of Object.keys(record)) if (!columns.some((column) => column.name === name)) fail(i + 1, 'is not a column of this list', name);
      rows.push(columns.map((column) => (column.name in record ? checkValue(column, record[column.name], i + 1) : fail(i + 1, 'is missing', column.name))));
    });
  }
  if (rows.length === 0) fail(1, 'the upload has no rows');
  return rows;
}

/** The chunk that holds row `index`, and the row's place in it. */
export function chunkOf(index: number): { chunk: number; offset: number } {
  return { chunk: Math.floor(index / ROWS_PER_CHUNK), offset: index % ROWS_PER_CHUNK };
}

/** A chunk as stored: the plain columns of its rows, and the secret ones sealed (absent when the list has none). */
export interface StoredChunk {
  plain: string[][];
  sealed?: Uint8Array;
}

/** Splits rows into chunks: plain columns kept as they are, secret ones sealed per chunk. */
export function toChunks(columns: readonly DataListColumn[], rows: readonly string[][], sealChunk: (chunk: number, plaintext: string) => Uint8Array): StoredChunk[] {
  const secret = columns.map((column) => column.secret);
  const chunks: StoredChunk[] = [];
  for (let first = 0, chunk = 0; first < rows.length; first += ROWS_PER_CHUNK, chunk += 1) {
    const slice = rows.slice(first, first + ROWS_PER_CHUNK);
    const plain = slice.map((row) => row.filter((_, c) => !secret[c]));
    const hidden = slice.map((row) => row.filter((_, c) => secret[c]));
    chunks.push({ plain, ...(secret.some(Boolean) && { sealed: sealChunk(chunk, JSON.stringify(hidden)) }) });
  }
  return chunks;
}

/** A row back in column order from its chunk's plain and opened secret values. */
export function rowOf(columns: readonly Pick<DataListColumn, 'secret'>[], plain: readonly string[], secret: readonly string[]): string[] {
  let p = 0;
  let s = 0;
  return columns.map((column) => (column.secret ? secret[s++] : plain[p++]) as string);
}
