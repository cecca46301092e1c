/**
 * The one retry loop of Flashline: exponential backoff with full jitter inside a time budget.
 * The API functions use it for AWS faults that clear on their own (throttling, transaction
 * conflicts), the typed client for retryable HTTP answers, the CLI for uploads. Full jitter
 * spreads callers that failed together (a gang programmer's 24 channels) so they do not come
 * back together.
 */
export interface BackoffPolicy {
  /** Upper bound of the first delay; each attempt doubles it up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface RetryOptions extends BackoffPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** No new attempt starts once this much time has passed since the first (default: none). */
  budgetMs?: number;
  /** Whether an error is worth another attempt; anything else is rethrown at once. */
  retryable: (error: unknown) => boolean;
  /** A delay the failure itself asks for (e.g. `Retry-After`), used instead of the backoff when longer. */
  requestedDelayMs?: (error: unknown) => number | undefined;
  /** Told before each wait: logging, metrics, progress lines. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Full jitter: uniformly between 0 and the exponential ceiling of this attempt (1-based). */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Thrown when the attempts or the time budget ran out; `cause` is the last failure. */
export class RetriesExhaustedError extends Error {
  override readonly name = 'RetriesExhaustedError';
  constructor(
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(`Gave up after ${attempts} attempt(s): ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const started = now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!options.retryable(error)) throw error;
      const delayMs = Math.max(backoffDelayMs(attempt, options, options.random), options.requestedDelayMs?.(error) ?? 0);
      const outOfTime = options.budgetMs !== undefined && now() - started + delayMs > options.budgetMs;
      if (attempt >= options.maxAttempts || outOfTime) throw new RetriesExhaustedError(attempt, error);
      options.onRetry?.(error, attempt, delayMs);
      await wait(delayMs);
    }
  }
}
