import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { type Account, FlashlineApiError, type FlashlineClient } from './api.js';
import type { Caller } from './permissions.js';
import type { Session } from './session.js';

export interface ConsoleContext {
  api: FlashlineClient;
  session: Session;
  account: Account;
  /** Who is signed in (GET /v1/account's caller): pages offer only what it may do (permissions.ts). */
  caller: Caller;
}

export const Console = createContext<ConsoleContext | null>(null);

export function useConsole(): ConsoleContext {
  const context = useContext(Console);
  if (!context) throw new Error('useConsole outside a signed-in console');
  return context;
}

/** Any failure as the error the console displays; the API's own errors keep their code and message. */
export function asApiError(error: unknown): FlashlineApiError {
  if (error instanceof FlashlineApiError) return error;
  return new FlashlineApiError(0, 'console_error', error instanceof Error ? error.message : String(error));
}

export interface Loaded<T> {
  data: T | undefined;
  error: FlashlineApiError | undefined;
  /** Loads again now (after an action), keeping the current data on screen meanwhile. */
  reload: () => void;
}

/**
 * Loads once, then again every `intervalMs` (null: never) while the page is mounted. A tick
 * never overlaps the previous one, and hidden tabs skip their ticks: a console left open on
 * a shop-floor screen should not hammer the API.
 */
export function usePolling<T>(load: () => Promise<T>, intervalMs: number | null, deps: readonly unknown[], enabled = true): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: FlashlineApiError | undefined }>({ data: undefined, error: undefined });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    if (!enabled) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let first = true;
    const tick = async () => {
      let permanent = false;
      if (first || !document.hidden) {
        first = false;
        try {
          const data = await loadRef.current();
          if (!cancelled) setState({ data, error: undefined });
        } catch (error) {
          const problem = asApiError(error);
          // Asking again will not make a missing object appear or a role grow.
          permanent = problem.status === 403 || problem.status === 404;
          if (!cancelled) setState((previous) => ({ data: previous.data, error: problem }));
        }
      }
      if (!cancelled && intervalMs !== null && !permanent) timer = setTimeout(tick, intervalMs);
    };
    void tick();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- callers name their own dependencies
  }, [...deps, generation, intervalMs, enabled]);

  return { ...state, reload: () => setGeneration((value) => value + 1) };
}

export interface Action {
  busy: boolean;
  error: FlashlineApiError | undefined;
  /** What the last successful run reported, for a status line. */
  done: string | undefined;
  /** Runs `work` once (never retried: writes are not all idempotent); answers `{ value }`, or undefined when it failed. */
  run: <T>(work: () => Promise<T>, doneMessage: (result: T) => string) => Promise<{ value: T } | undefined>;
  clear: () => void;
}

/** Busy, error and done state of one form or button: every write of the console goes through it. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<FlashlineApiError | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const run = async <T>(work: () => Promise<T>, doneMessage: (result: T) => string): Promise<{ value: T } | undefined> => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const value = await work();
      setDone(doneMessage(value));
      return { value };
    } catch (problem) {
      setError(asApiError(problem));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return {
    busy,
    error,
    done,
    run,
    clear: () => {
      setError(undefined);
      setDone(undefined);
    },
  };
}

export interface PagedList<T> {
  items: T[] | undefined;
  /** The next page's cursor; null when the list is read to its end. */
  cursor: string | null;
  error: FlashlineApiError | undefined;
  busy: boolean;
  /** No cursor: reads the first page again, replacing what is shown; a cursor: appends the page after it. */
  load: (after?: string) => Promise<void>;
}

/**
 * A list read a page at a time on demand (the audit trail, a webhook's deliveries): lists that
 * only grow are paged rather than polled. `read` is called as it is at load time, so it may
 * close over the page's current filters.
 */
export function usePagedList<T>(read: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): PagedList<T> {
  const [items, setItems] = useState<T[] | undefined>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<FlashlineApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const readRef = useRef(read);
  readRef.current = read;
  const load = async (after?: string) => {
    setBusy(true);
    try {
      const page = await readRef.current(after);
      setItems((previous) => (after ? [...(previous ?? []), ...page.items] : page.items));
      setCursor(page.nextCursor);
      setError(undefined);
    } catch (problem) {
      setError(asApiError(problem));
    } finally {
      setBusy(false);
    }
  };
  return { items, cursor, error, busy, load };
}
