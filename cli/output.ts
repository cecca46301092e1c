import type { OutputStream } from './io.js';

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
  /** Right-align numbers so columns of counts read at a glance. */
  align?: 'left' | 'right';
}

/** A plain aligned table (no borders: easy to read and to grep). */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], emptyMessage = '(none)'): string {
  if (rows.length === 0) return `${emptyMessage}\n`;
  const cells = rows.map((row) => columns.map((column) => cellText(column.value(row))));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => line[i]!.length)));
  const pad = (text: string, i: number) => (columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  const lines = [columns.map((column, i) => pad(column.header, i)), ...cells.map((line) => line.map(pad))];
  return `${lines.map((line) => line.join('  ').trimEnd()).join('\n')}\n`;
}

/** `label   value` pairs, labels aligned. */
export function renderFields(fields: readonly [string, string | number | null | undefined][]): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return `${fields.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${cellText(value)}`).join('\n')}\n`;
}

function cellText(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return terminalSafe(String(value));
}

/**
 * C0 and C1 controls, DEL, and the bidirectional overrides/isolates. Names, log lines and error
 * messages come from other people (a programmer's firmware, another admin); printed raw, an ESC
 * or CSI starts a terminal escape sequence (retitle the window, move the cursor, rewrite what
 * was printed above, on some terminals answer back as typed input), a newline forges a log line,
 * and a bidi override makes text read other than it is.
 */
const UNSAFE_FOR_TERMINALS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** The same minus C0, which JSON.stringify already escapes inside strings and uses raw only for its own line breaks. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from elsewhere, made inert for a terminal and kept on one line: each unsafe character is
 * shown as its escape (`\n`, `\x1b`, `\u202e`), so it stays visible and nothing is lost. An
 * ANSI sequence loses its ESC/CSI and prints as plain text.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE_FOR_TERMINALS, (char) => {
    const code = char.charCodeAt(0);
    return NAMED_ESCAPES[char] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/**
 * JSON for a stream that may be a terminal. JSON.stringify escapes C0 controls but passes DEL,
 * C1 controls (U+009B is a one-character CSI) and bidi controls through raw; `\uXXXX` is the
 * same string to any JSON reader.
 */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function printJson(stream: OutputStream, value: unknown): void {
  stream.write(`${jsonText(value, 2)}\n`);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Timestamps as `2026-03-01 14:03:12Z`: shorter than ISO, still unambiguous. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatYield(succeeded: number, failed: number): string {
  const total = succeeded + failed;
  return total === 0 ? '-' : `${((100 * succeeded) / total).toFixed(1)}%`;
}
