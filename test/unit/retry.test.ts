import { describe, expect, it } from 'vitest';
import { RetriesExhaustedError, backoffDelayMs, retry } from '../../shared/retry.js';
import { isTransientFault, withFaultRetry } from '../../shared/store/faults.js';

const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, ...extra });

describe('retry', () => {
  it('backs off with full jitter under an exponential ceiling', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelayMs(1, policy, () => 0.999)).toBe(99);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(200);
    expect(backoffDelayMs(10, policy, () => 0.999)).toBe(999);
    expect(backoffDelayMs(2, policy, () => 0)).toBe(0);
  });

  it('retries what is retryable, rethrows anything else at once', async () => {
    const waits: number[] = [];
    let calls = 0;
    const value = await retry(
      async () => {
        calls += 1;
        if (calls < 3) throw named('Busy');
        return 'ok';
      },
      { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 100, retryable: (e) => (e as Error).name === 'Busy', sleep: async (ms) => void waits.push(ms), random: () => 1 },
    );
    expect(value).toBe('ok');
    expect(waits).toEqual([10, 20]);
    await expect(retry(async () => Promise.reject(named('Fatal')), { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, retryable: () => false })).rejects.toThrow('Fatal');
  });

  it('stops when the next wait would pass the time budget, and honours a requested delay', async () => {
    let clock = 0;
    const attempts: number[] = [];
    const outcome = retry(
      async (attempt) => {
        attempts.push(attempt);
        throw named('Busy');
      },
      {
        maxAttempts: 100,
        baseDelayMs: 10,
        maxDelayMs: 10,
        budgetMs: 100,
        retryable: () => true,
        requestedDelayMs: () => 40,
        sleep: async (ms) => {
          clock += ms;
        },
        now: () => clock,
      },
    );
    await expect(outcome).rejects.toBeInstanceOf(RetriesExhaustedError);
    expect(attempts).toEqual([1, 2, 3]);
  });
});

describe('AWS faults', () => {
  it('counts throttling and transaction conflicts as transient, failed conditions never', () => {
    expect(isTransientFault(named('ThrottlingException'))).toBe(true);
    expect(isTransientFault(named('ProvisionedThroughputExceededException'))).toBe(true);
    expect(isTransientFault(named('TransactionCanceledException', { CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }] }))).toBe(true);
    expect(isTransientFault(named('TransactionCanceledException', { CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'TransactionConflict' }] }))).toBe(false);
    expect(isTransientFault(named('ConditionalCheckFailedException'))).toBe(false);
    expect(isTransientFault(named('ValidationException'))).toBe(false);
  });

  it('turns a fault that outlasts the budget into 429 throttled', async () => {
    await expect(withFaultRetry(async () => Promise.reject(named('ThrottlingException')), { sleep: async () => undefined })).rejects.toMatchObject({
      status: 429,
      code: 'throttled',
    });
  });
});
