import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const FLASHLINE_BIN = path.join(ROOT, 'cli', 'bin', 'flashline.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string>;
}

/** The environment of a user's shell, minus anything that would pick other credentials or a console for them. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!('FLASHLINE_CREDENTIALS' in extra)) delete env.FLASHLINE_CREDENTIALS;
  if (!('FLASHLINE_CONSOLE_URL' in extra)) delete env.FLASHLINE_CONSOLE_URL;
  return env;
}

/** Starts `flashline ARGS` as a child process, stdout/stderr piped (so no TTY, as in CI). */
export function startFlashline(args: readonly string[], options: CliOptions): { child: ChildProcess; done: Promise<CliRun>; output: () => CliRun } {
  const child = spawn(process.execPath, [FLASHLINE_BIN, ...args], { cwd: options.cwd, env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done, output: () => ({ code: child.exitCode, stdout, stderr }) };
}

export function flashline(args: readonly string[], options: CliOptions): Promise<CliRun> {
  return startFlashline(args, options).done;
}

/** `flashline ARGS --json`, expecting exit 0; returns the parsed stdout. */
export async function flashlineJson<T = any>(args: readonly string[], options: CliOptions): Promise<T> {
  const run = await flashline([...args, '--json'], options);
  if (run.code !== 0) throw new Error(`flashline ${args.join(' ')} exited ${run.code}\n${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Resolves once `predicate` holds for the output so far; fails if the process ends first. */
export async function waitForOutput(started: ReturnType<typeof startFlashline>, predicate: (run: CliRun) => boolean, what: string): Promise<void> {
  let ended = false;
  void started.done.then(() => (ended = true));
  for (let i = 0; i < 600; i += 1) {
    if (predicate(started.output())) return;
    if (ended) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const { stdout, stderr } = started.output();
  throw new Error(`never saw ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
}

/**
 * `flashline ARGS` on a real pseudo-terminal (util-linux `script`), answering `answer` once it
 * asks a `[y/N]` question. Output is what the terminal showed (stdout and stderr mixed).
 */
export function flashlineOnTerminal(args: readonly string[], answer: string, options: CliOptions): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, FLASHLINE_BIN, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: options.cwd, env: cliEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.includes('[y/N]') && !child.stdin!.writableEnded) child.stdin!.end(`${answer}\n`);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
