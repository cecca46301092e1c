import { homedir } from 'node:os';
import { createInterface } from 'node:readline/promises';

/** Where a command writes and what it may touch: the process itself, or a test's capture. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  cwd: string;
  homeDir: string;
  /** Injected by unit tests; the real CLI uses global fetch. */
  fetch?: typeof fetch;
  /** Aborted on Ctrl-C: long-running commands (`jobs logs --follow`, `simulate`) stop cleanly. */
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Whether a person can answer questions: stdin is a terminal. */
  interactive?: boolean;
  /** Asks a question on the terminal and resolves with the answer line. */
  ask?: (question: string) => Promise<string>;
}

export function processIo(signal?: AbortSignal): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    homeDir: homedir(),
    signal,
    // Both ends must be a terminal: a question on a redirected stderr would never be seen.
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    ask: async (question) => {
      // The question goes to stderr, so `--json` keeps stdout one parseable document.
      const terminal = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await terminal.question(question, signal ? { signal } : {});
      } catch {
        return ''; // Ctrl-C or end of input: no answer is no.
      } finally {
        terminal.close();
      }
    },
  };
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
