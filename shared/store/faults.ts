import { ThrottledError } from '../domain/errors.js';
import { RetriesExhaustedError, retry } from '../retry.js';

/** AWS error names that mean "not now", not "never": throttling of DynamoDB or KMS. */
const THROTTLE_NAMES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'LimitExceededException',
  'TransactionConflictException',
  'TransactionInProgressException',
]);

/**
 * A batch call that left items unprocessed: DynamoDB's way of throttling part of a batch. The
 * caller sends the rest again, with the same backoff and budget as any throttle.
 */
export class UnprocessedItemsError extends Error {
  override readonly name = 'UnprocessedItemsError';
  constructor(readonly count: number) {
    super(`DynamoDB left ${count} item(s) of a batch unprocessed`);
  }
}

/** Cancellation reasons of a transaction that a later attempt may not meet again. */
const TRANSIENT_CANCELLATIONS = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);

/**
 * A fault that clears by itself. A cancelled transaction counts only when no item failed its
 * condition: a failed condition is a decision (limit reached, duplicate), never retried blindly.
 */
export function isTransientFault(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof UnprocessedItemsError || THROTTLE_NAMES.has(error.name)) return true;
  if (error.name !== 'TransactionCanceledException') return false;
  const codes = ((error as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
  return !codes.includes('ConditionalCheckFailed') && codes.some((code) => TRANSIENT_CANCELLATIONS.has(code));
}

/** How long one request may spend waiting out faults before it answers 429 instead. */
export const FAULT_BUDGET_MS = 2_500;

/**
 * Runs one AWS call (or a step of calls that is safe to repeat) and retries transient faults
 * with jittered backoff inside the budget; then the caller gets `429 throttled` with
 * `Retry-After`. The SDK's own retries run inside each attempt: these cover what it leaves out
 * (transaction conflicts) and give the request a time limit of its own.
 */
export async function withFaultRetry<T>(operation: () => Promise<T>, options: { budgetMs?: number; sleep?: (ms: number) => Promise<void> } = {}): Promise<T> {
  try {
    return await retry(operation, {
      maxAttempts: 8,
      baseDelayMs: 25,
      maxDelayMs: 400,
      budgetMs: options.budgetMs ?? FAULT_BUDGET_MS,
      retryable: isTransientFault,
      sleep: options.sleep,
    });
  } catch (error) {
    if (error instanceof RetriesExhaustedError) throw new ThrottledError(1, 'The cloud is busy right now; nothing was recorded, retry with backoff');
    throw error;
  }
}
