import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { FEED_SETTLE_SECONDS } from '../../shared/contract/common.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Plain HTTP against the deployed stack, exactly as any client would call it. */
export async function call<T = any>(
  method: string,
  route: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const url = new URL(route.replace(/^\//, ''), inject('apiUrl'));
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text, the assertion will show it */
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

/** Creates an account the way a platform operator does: with `npm run admin -- create-account`. */
export async function createAccount(name: string): Promise<CredentialsFileType> {
  const { stdout } = await promisify(execFile)(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/admin.ts', 'create-account', '--name', name], {
    cwd: ROOT,
    env: { ...process.env, ...EMULATOR_AWS_ENV },
  });
  return JSON.parse(stdout);
}

export function uniqueName(prefix: string): string {
  return `${prefix} ${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Feeds (logs, results, audit from `since`) show items once they have settled: wait that long after writing. */
export function feedSettled(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, FEED_SETTLE_SECONDS * 1000 + 300));
}
