import { CommanderError } from 'commander';
import { FlashlineApiError } from '../shared/contract/client.js';
import { terminalSafe } from './output.js';

/** Exit codes scripts can rely on. */
export const EXIT_OK = 0;
/** The API refused, something was not found, or the work failed. */
export const EXIT_FAILED = 1;
/** The command line itself is wrong (unknown command or option, bad value, missing credentials file). */
export const EXIT_USAGE = 2;

/** A wrong command line or local setup, found before any request: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure of the CLI's own making (not an API answer), still with a stable code: exit 1. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface ReportedError {
  exitCode: number;
  code: string;
  message: string;
  status?: number;
  details?: Record<string, unknown>;
}

export function describeError(error: unknown): ReportedError {
  if (error instanceof FlashlineApiError) {
    return { exitCode: EXIT_FAILED, code: error.code, message: error.message, status: error.status, details: error.details };
  }
  if (error instanceof CliFailure) return { exitCode: EXIT_FAILED, code: error.code, message: error.message, details: error.details };
  if (error instanceof UsageError) return { exitCode: EXIT_USAGE, code: 'usage', message: error.message };
  if (error instanceof CommanderError) return { exitCode: EXIT_USAGE, code: 'usage', message: error.message.replace(/^error: /, '') };
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT_FAILED, code: 'failed', message };
}

/** One line a human can act on: the API's message, its code, and the field issues of a 400. */
export function formatError(reported: ReportedError): string {
  // Messages, codes and details come from the API, which repeats what others named things: escaped.
  const lines = [`flashline: ${terminalSafe(reported.message)} [${terminalSafe(reported.code)}${reported.status ? ` ${reported.status}` : ''}]`];
  const issues = reported.details?.issues;
  if (Array.isArray(issues)) {
    for (const issue of issues as { path?: string; message?: string }[]) lines.push(`  ${terminalSafe(issue.path || '(body)')}: ${terminalSafe(String(issue.message))}`);
  }
  const other = Object.entries(reported.details ?? {}).filter(([key]) => key !== 'issues');
  if (other.length > 0) lines.push(`  ${other.map(([key, value]) => terminalSafe(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)).join(' ')}`);
  return `${lines.join('\n')}\n`;
}
