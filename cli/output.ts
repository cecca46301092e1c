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
  return String(value);
}

export function printJson(stream: OutputStream, value: unknown): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
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
