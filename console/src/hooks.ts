import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { type Account, type Caller, FlashlineApiError, type FlashlineClient } from './api.js';
import type { Session } from './session.js';

export interface ConsoleContext {
  api: FlashlineClient;
  session: Session;
  account: Account;
  /** Who is signed in (GET /v1/account's caller): pages offer only what this role may do. */
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
