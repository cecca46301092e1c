import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureVirtualenv as ensurePythonVirtualenv } from '../scripts/lib/python-venv.js';
import { emulatorEndpointFrom } from './emulator.js';

/**
 * MiniStack, the local AWS emulator, run on the host from a project-local virtualenv. This file,
 * `emulator.ts` (which emulator answers and what differs) and `start.sh` are the only places
 * that know about emulators; the stack and the functions see only AWS_ENDPOINT_URL.
 */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const VENV = path.join(HERE, '.venv');
export const EMULATOR_PORT = Number(process.env.FLASHLINE_EMULATOR_PORT ?? 4566);
// One state and scratch folder per port: several emulators may serve one work tree.
const STATE_DIR = path.join(HERE, '.state', String(EMULATOR_PORT));
const TMP_DIR = path.join(HERE, '.tmp', String(EMULATOR_PORT));
const PID_FILE = path.join(TMP_DIR, 'ministack.pid');
export const EMULATOR_LOG = path.join(TMP_DIR, 'ministack.log');

export const EMULATOR_ENDPOINT = `http://127.0.0.1:${EMULATOR_PORT}`;

/**
 * The AWS configuration every local tool uses to reach the emulator: the one the caller named
 * in AWS_ENDPOINT_URL (any emulator, e.g. LocalStack), else the MiniStack the harness runs.
 */
export const EMULATOR_AWS_ENV = {
  AWS_ENDPOINT_URL: emulatorEndpointFrom(process.env).endpoint,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  CDK_DEFAULT_ACCOUNT: '000000000000',
  CDK_DEFAULT_REGION: 'us-east-1',
} as const;

/** Creates or refreshes the emulator's virtualenv whenever requirements.txt changes. */
export function ensureVirtualenv(log: (line: string) => void = console.log): void {
  ensurePythonVirtualenv({ dir: HERE, probe: 'ministack', label: 'the local emulator (MiniStack)' }, log);
}

export async function isEmulatorUp(): Promise<boolean> {
  try {
    const response = await fetch(`${EMULATOR_ENDPOINT}/_localstack/health`, { signal: AbortSignal.timeout(2000) });
    return response.ok;
  } catch {
    return false;
  }
}

export interface StartOptions {
  /** Keep state across restarts (dev environment); tests start from nothing. */
  persist: boolean;
}

/** Starts the emulator detached (it outlives this process until stopEmulator) and waits for health. */
export async function startEmulator(options: StartOptions): Promise<ChildProcess> {
  mkdirSync(TMP_DIR, { recursive: true });
  mkdirSync(STATE_DIR, { recursive: true });
  // Lambda workers are written under TMPDIR as CommonJS scripts; the project's own
  // package.json says "type": "module", so this marker keeps them CommonJS.
  writeFileSync(path.join(TMP_DIR, 'package.json'), '{ "type": "commonjs", "private": true }\n');
  const out = openSync(EMULATOR_LOG, 'a');
  const child = spawn(path.join(VENV, 'bin', 'ministack'), [], {
    cwd: HERE,
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      GATEWAY_PORT: String(EMULATOR_PORT),
      BIND_HOST: '127.0.0.1',
      IOT_MTLS_ENABLED: '0',
      TMPDIR: TMP_DIR,
      STATE_DIR,
      PERSIST_STATE: options.persist ? '1' : '0',
      S3_PERSIST: options.persist ? '1' : '0',
      // Without this, persisted S3 objects land in one folder under /tmp shared by every emulator.
      S3_DATA_DIR: path.join(STATE_DIR, 's3'),
      LOG_LEVEL: 'WARNING',
      // The emulator's Python runs CDK's bucket-notification custom resource; boto3 is in this venv.
      PATH: `${path.join(VENV, 'bin')}:${process.env.PATH ?? ''}`,
    },
  });
  child.unref();
  writeFileSync(PID_FILE, String(child.pid));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await isEmulatorUp()) return child;
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`The emulator did not become healthy; see ${EMULATOR_LOG}`);
}

export function stopEmulator(): void {
  if (!existsSync(PID_FILE)) return;
  const pid = Number(readFileSync(PID_FILE, 'utf8'));
  try {
    // Negative pid: the whole process group, Lambda worker processes included.
    process.kill(-pid, 'SIGTERM');
  } catch {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  rmSync(PID_FILE, { force: true });
}

/**
 * MiniStack 1.5.33 stores an HTTP API's CORS settings from CloudFormation with the template's
 * capitalised keys but reads them with the API's camelCase ones, so it refuses every preflight.
 * Sending the template's own settings once more through the API (UpdateApi, a no-op on AWS)
 * stores them the way it reads them, and the browser talks to the API as it would in AWS.
 */
export async function reapplyHttpApiCors(apiId: string, templateFile: string): Promise<void> {
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  const api = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::ApiGatewayV2::Api');
  const cors = api?.Properties?.CorsConfiguration as
    | { AllowOrigins?: string[]; AllowHeaders?: string[]; AllowMethods?: string[]; MaxAge?: number; AllowCredentials?: boolean; ExposeHeaders?: string[] }
    | undefined;
  if (!cors) return;
  const { ApiGatewayV2Client, UpdateApiCommand } = await import('@aws-sdk/client-apigatewayv2');
  await new ApiGatewayV2Client({}).send(
    new UpdateApiCommand({
      ApiId: apiId,
      CorsConfiguration: {
        AllowOrigins: cors.AllowOrigins,
        AllowHeaders: cors.AllowHeaders,
        AllowMethods: cors.AllowMethods,
        MaxAge: cors.MaxAge,
        AllowCredentials: cors.AllowCredentials,
        ExposeHeaders: cors.ExposeHeaders,
      },
    }),
  );
}
