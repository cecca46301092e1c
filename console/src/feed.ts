import { useEffect, useRef, useState } from 'preact/hooks';
import type { FlashlineApiError, Page } from './api.js';
import { asApiError } from './hooks.js';
import { IncrementalFeed } from './incremental.js';

/** Pages read per tick: enough to catch up with a busy line without one tick taking long. */
const MAX_PAGES_PER_TICK = 10;

/**
 * Polls a `since`-filtered list (results, logs) and hands each new item to `onItems` exactly
 * once. A tick that stops with pages still unread resumes from its cursor on the next tick.
 */
export function useFeed<T>(options: {
  fetchPage: (query: { since?: string; cursor?: string }) => Promise<Page<T>>;
  timeOf: (item: T) => string;
  keyOf: (item: T) => string;
  onItems: (items: T[]) => void;
  intervalMs: number;
  enabled?: boolean;
  deps: readonly unknown[];
}): { error: FlashlineApiError | undefined; loaded: boolean } {
  const [error, setError] = useState<FlashlineApiError | undefined>();
  const [loaded, setLoaded] = useState(false);
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const enabled = options.enabled ?? true;
  // Survives pausing and resuming the feed, so nothing is delivered twice after a resume.
  const feedRef = useRef<{ key: string; feed: IncrementalFeed<T> } | undefined>(undefined);
  const depsKey = JSON.stringify(options.deps);

  useEffect(() => {
    if (!enabled) return;
    if (feedRef.current?.key !== depsKey) feedRef.current = { key: depsKey, feed: new IncrementalFeed<T>(optionsRef.current.timeOf, optionsRef.current.keyOf) };
    const { feed } = feedRef.current;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let pending: { since?: string; cursor?: string } | undefined;
    let first = true;

    const tick = async () => {
      if (first || !document.hidden) {
        first = false;
        try {
          let query = pending ?? { since: feed.since };
          pending = undefined;
          for (let page = 0; page < MAX_PAGES_PER_TICK && !cancelled; page++) {
            const result = await optionsRef.current.fetchPage(query);
            if (cancelled) return;
            const fresh = feed.accept(result.items);
            if (fresh.length > 0) optionsRef.current.onItems(fresh);
            if (!result.nextCursor) break;
            query = { since: query.since, cursor: result.nextCursor };
            if (page === MAX_PAGES_PER_TICK - 1) pending = query;
          }
          if (!cancelled) {
            setError(undefined);
            setLoaded(true);
          }
        } catch (problem) {
          if (!cancelled) setError(asApiError(problem));
        }
      }
      if (!cancelled) timer = setTimeout(tick, optionsRef.current.intervalMs);
    };
    void tick();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- callers name their own dependencies
  }, [depsKey, enabled]);

  return { error, loaded };
}
