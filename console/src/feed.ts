import { useEffect, useRef, useState } from 'preact/hooks';
import type { FlashlineApiError } from './api.js';
import { asApiError } from './hooks.js';

/** Pages read per tick: enough to catch up with a busy line without one tick taking long. */
export const MAX_PAGES_PER_TICK = 10;

/** One catch-up read of a feed from a cursor: what `FlashlineClient.readFeed` answers. */
export type FeedRead<T> = (cursor: string | undefined) => Promise<{ items: T[]; cursor: string | undefined }>;

/**
 * Polls an arrival-ordered feed (results, logs) and hands each new item to `onItems` exactly
 * once. The API's `followCursor` is the whole state: every read continues after the last item
 * handed out, so late items (an old device time, a line that arrived out of order) come in at
 * the end and nothing is ever filtered or repeated here.
 */
export function useFeed<T>(options: {
  read: FeedRead<T>;
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
  const cursorRef = useRef<{ key: string; cursor: string | undefined } | undefined>(undefined);
  const depsKey = JSON.stringify(options.deps);

  useEffect(() => {
    if (!enabled) return;
    if (cursorRef.current?.key !== depsKey) cursorRef.current = { key: depsKey, cursor: undefined };
    const position = cursorRef.current;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let first = true;

    const tick = async () => {
      if (first || !document.hidden) {
        first = false;
        try {
          const result = await optionsRef.current.read(position.cursor);
          if (cancelled) return;
          position.cursor = result.cursor;
          if (result.items.length > 0) optionsRef.current.onItems(result.items);
          setError(undefined);
          setLoaded(true);
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
