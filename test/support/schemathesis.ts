import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureVirtualenv } from '../../scripts/lib/python-venv.js';

/**
 * schemathesis, pinned in test/conformance/requirements.txt and installed into
 * test/conformance/.venv, fuzzes the deployed stack from its served OpenAPI document
 * (test/e2e/conformance.test.ts). `npx tsx test/support/schemathesis.ts --install` only
 * installs it: .ci/run does, ahead of the tests, as it does for the IaC scanners.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CONFORMANCE_DIR = path.join(ROOT, 'test', 'conformance');

/**
 * Python 3.13 or later where the machine has one (on PATH, or installed by pyenv): under 3.11 and
 * 3.12, ast.parse, which hypothesis calls to describe its filters, now and then fails with
 * "AST constructor recursion depth mismatch" when two threads parse at once (CPython
 * gh-106905), so the run then keeps to one worker.
 */
function newerPython(): string | undefined {
  const pyenvRoot = process.env.PYENV_ROOT ?? path.join(homedir(), '.pyenv');
  const pyenvVersions = existsSync(path.join(pyenvRoot, 'versions')) ? readdirSync(path.join(pyenvRoot, 'versions')).sort().reverse() : [];
  const candidates = [
    'python3.14',
    'python3.13',
    ...pyenvVersions.filter((v) => /^3\.(1[3-9])(\.\d+)*$/.test(v)).map((v) => path.join(pyenvRoot, 'versions', v, 'bin', 'python3')),
  ];
  return candidates.find((candidate) => spawnSync(candidate, ['-c', 'import sys, venv; assert sys.version_info >= (3, 13)'], { stdio: 'ignore' }).status === 0);
}

export function ensureSchemathesis(log?: (line: string) => void): string {
  return ensureVirtualenv({ dir: CONFORMANCE_DIR, probe: 'schemathesis', label: 'schemathesis', python: newerPython() }, log);
}

/** Two workers where the virtualenv's Python runs them safely (see newerPython), else one. */
export function safeWorkers(bin: string): number {
  return spawnSync(path.join(bin, 'python'), ['-c', 'import sys; assert sys.version_info >= (3, 13)'], { stdio: 'ignore' }).status === 0 ? 2 : 1;
}

export interface FuzzRun {
  /** Which side: names the report folder. */
  name: string;
  apiUrl: string;
  token: string;
  /** Operations to fuzz, by path (a regular expression schemathesis matches against each path). */
  includePathRegex?: string;
  excludePathRegex?: string;
  /** Real cursors by operationId, for the positive cases (see hooks.py). */
  cursors: Record<string, FuzzCursor>;
  maxExamples: number;
  seed: number;
  workers: number;
}

/** A cursor a list handed out, and the path parameters of that list: it is a cursor of that list only. */
export interface FuzzCursor {
  cursor: string;
  pathParameters: Record<string, string>;
}

export interface FuzzFailure {
  code: string;
  title: string;
  count: number;
  operations: string[];
}

export interface FuzzReport {
  exitCode: number | null;
  /** The run's own JSON report. */
  summary: {
    exit_code: number;
    operations: { selected: number; tested: number; errored: number; skipped: number };
    test_cases: { generated: number; with_failures: number; errored: number };
    failures: FuzzFailure[];
    errors: { title: string; count: number }[];
    phases: Record<string, { status: string; skip_reason: string | null }>;
  };
  /** Every HTTP exchange the hooks saw, as `METHOD /path STATUS` → count. */
  tally: Record<string, number>;
  /** What schemathesis printed: the failures with their reproduction commands. */
  output: string;
}

export async function runSchemathesis(bin: string, run: FuzzRun): Promise<FuzzReport> {
  const reportDir = path.join(ROOT, 'test-results', 'schemathesis', run.name);
  // A report left by an earlier run must never stand in for this one.
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(reportDir, { recursive: true });
  const jsonReport = path.join(reportDir, 'report.json');
  const tallyFile = path.join(reportDir, 'tally.json');
  const base = run.apiUrl.replace(/\/$/, '');
  const args = [
    '--config-file',
    path.join(CONFORMANCE_DIR, 'schemathesis.toml'),
    'run',
    `${base}/v1/openapi.json`,
    '--url',
    base,
    '--header',
    `Authorization: Bearer ${run.token}`,
    '--checks',
    'all',
    '--phases',
    'examples,coverage,fuzzing,stateful',
    '--max-examples',
    String(run.maxExamples),
    '--seed',
    String(run.seed),
    '--workers',
    String(run.workers),
    '--generation-database',
    'none',
    '--no-color',
    '--report',
    'json,junit',
    '--report-dir',
    reportDir,
    '--report-json-path',
    jsonReport,
    ...(run.includePathRegex ? ['--include-path-regex', run.includePathRegex] : []),
    ...(run.excludePathRegex ? ['--exclude-path-regex', run.excludePathRegex] : []),
  ];
  const env = {
    ...process.env,
    SCHEMATHESIS_HOOKS: 'hooks',
    PYTHONPATH: CONFORMANCE_DIR,
    FLASHLINE_FUZZ_CURSORS: JSON.stringify(run.cursors),
    FLASHLINE_FUZZ_TALLY: tallyFile,
  };
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(path.join(bin, 'schemathesis'), args, { env, cwd: reportDir });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode, output: text }));
  });
  if (!existsSync(jsonReport)) throw new Error(`schemathesis wrote no report (exit ${code}):\n${output.slice(-4000)}`);
  return {
    exitCode: code,
    summary: JSON.parse(readFileSync(jsonReport, 'utf8')),
    tally: existsSync(tallyFile) ? JSON.parse(readFileSync(tallyFile, 'utf8')) : {},
    output,
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv.includes('--install')) {
  ensureSchemathesis();
}
