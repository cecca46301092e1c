import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RATE_LIMITS,
  LEASE_LIFETIME_MS,
  type LeaseAttempt,
  type RateLimit,
  afterRefusal,
  availableTokens,
  chunkSize,
  decideLocally,
  emptyLocalBucket,
  leaseAttempt,
  LEARNT_LIMIT_FRESH_MS,
  leaseSize,
  owedTokens,
  PASS_MIN_RATE_PER_SECOND,
  parseRateLimits,
  PASS_INTERVAL_MS,
  retryAfterSeconds,
  settleLease,
  spendToken,
  takePass,
} from '../../shared/domain/rate-limits.js';

const limit: RateLimit = { ratePerSecond: 20, burst: 40 };
/** Below the rate that gets passes. */
const slow: RateLimit = { ratePerSecond: PASS_MIN_RATE_PER_SECOND / 2, burst: 10 };

/** The conditional UpdateItem of store/rate-limits.ts, applied to an in-memory item: what DynamoDB decides. */
function applyLease(item: { arrivalMs?: number }, attempt: LeaseAttempt): boolean {
  if (attempt.form === 'restart') {
    if (item.arrivalMs !== undefined && item.arrivalMs > attempt.nowMs) return false;
    item.arrivalMs = attempt.newArrivalMs;
    return true;
  }
  if (item.arrivalMs === undefined || item.arrivalMs <= attempt.nowMs || item.arrivalMs > attempt.latestArrivalMs) return false;
  item.arrivalMs += attempt.incrementMs;
  return true;
}

/** One container's lease as the store runs it: guess a form, then follow `afterRefusal`. Returns tokens granted. */
function lease(item: { arrivalMs?: number }, nowMs: number, known: number | undefined): { tokens: number; throttledUntilMs?: number } {
  let attempt = leaseAttempt(limit, chunkSize(limit), nowMs, known);
  for (let round = 0; round < 3; round += 1) {
    if (applyLease(item, attempt)) return { tokens: attempt.tokens };
    const next = afterRefusal(limit, chunkSize(limit), item.arrivalMs, nowMs);
    if ('throttledUntilMs' in next) return { tokens: 0, throttledUntilMs: next.throttledUntilMs };
    attempt = next.retry;
  }
  return { tokens: 0 };
}

describe('rate-limit buckets (GCRA, leased in chunks)', () => {
  it('leases a quarter second of the rate at once, at least 1 and at most the burst', () => {
    expect(chunkSize({ ratePerSecond: 20, burst: 40 })).toBe(5);
    expect(chunkSize({ ratePerSecond: 200, burst: 400 })).toBe(50);
    expect(chunkSize({ ratePerSecond: 1, burst: 1 })).toBe(1);
    expect(chunkSize({ ratePerSecond: 1000, burst: 10 })).toBe(10);
  });

  it('restarts an idle bucket from now and advances a busy one within the tolerance', () => {
    expect(leaseAttempt(limit, 5, 10_000, undefined)).toEqual({ form: 'restart', tokens: 5, nowMs: 10_000, newArrivalMs: 10_250 });
    expect(leaseAttempt(limit, 5, 10_000, 9_000)).toMatchObject({ form: 'restart', newArrivalMs: 10_250 });
    // 40 tokens of 50 ms: the arrival time may run 2 s ahead; taking 5 needs it at most 1.75 s ahead.
    expect(leaseAttempt(limit, 5, 10_000, 10_500)).toEqual({ form: 'advance', tokens: 5, nowMs: 10_000, incrementMs: 250, latestArrivalMs: 11_750 });
  });

  it('counts the tokens a stored arrival time leaves', () => {
    expect(availableTokens(limit, undefined, 0)).toBe(40);
    expect(availableTokens(limit, 500, 1_000)).toBe(40);
    expect(availableTokens(limit, 3_000, 1_000)).toBe(0);
    expect(availableTokens(limit, 2_900, 1_000)).toBe(2);
  });

  it('after a refusal takes what is left, or waits until a whole chunk is there', () => {
    expect(afterRefusal(limit, 5, 2_900, 1_000)).toEqual({ retry: { form: 'advance', tokens: 2, nowMs: 1_000, incrementMs: 100, latestArrivalMs: 2_900 } });
    // Full: a chunk of 5 is there when the arrival time is 5 intervals inside the 2 s tolerance.
    expect(afterRefusal(limit, 5, 3_000, 1_000)).toEqual({ throttledUntilMs: 1_250 });
    // A lost race on an idle bucket: someone restarted it; try again for the whole chunk.
    expect(afterRefusal(limit, 5, 1_100, 1_000)).toMatchObject({ retry: { form: 'advance', tokens: 5 } });
  });

  it('lets a burst through at once, then only the rate, whatever the number of containers', () => {
    const item: { arrivalMs?: number } = {};
    const containers = Array.from({ length: 7 }, () => ({ known: undefined as number | undefined, blockedUntil: 0 }));
    const grantedAt: number[] = [];
    // Every container asks every 10 ms for 10 s: far more than 20/s.
    for (let now = 0; now < 10_000; now += 10) {
      for (const container of containers) {
        if (now < container.blockedUntil) continue;
        const outcome = lease(item, now, container.known);
        container.known = item.arrivalMs;
        if (outcome.throttledUntilMs !== undefined) container.blockedUntil = outcome.throttledUntilMs;
        for (let i = 0; i < outcome.tokens; i += 1) grantedAt.push(now);
      }
    }
    // Over the whole run: the burst plus the rate, and no token less than a flood can use.
    expect(grantedAt.length).toBeLessThanOrEqual(40 + 20 * 10);
    expect(grantedAt.length).toBeGreaterThanOrEqual(40 + 20 * 10 - chunkSize(limit));
    // Over any 1 s window after the burst: at most the rate plus one chunk.
    for (let start = 3_000; start < 9_000; start += 100) {
      const inWindow = grantedAt.filter((at) => at >= start && at < start + 1_000).length;
      expect(inWindow).toBeLessThanOrEqual(20 + chunkSize(limit));
    }
  });

  it('serves leased tokens from memory until they run out or their lease ends, and refuses while throttled', () => {
    const bucket = emptyLocalBucket();
    expect(decideLocally(bucket, 0, slow)).toEqual({ kind: 'lease' });
    bucket.tokens = 2;
    bucket.leaseExpiresAtMs = LEASE_LIFETIME_MS;
    expect(decideLocally(bucket, 10, slow)).toEqual({ kind: 'take' });
    expect(decideLocally(bucket, LEASE_LIFETIME_MS, slow)).toEqual({ kind: 'lease' });
    const until = LEASE_LIFETIME_MS + 1_000;
    bucket.throttledUntilMs = until;
    expect(decideLocally(bucket, until - 500, slow)).toEqual({ kind: 'throttled', untilMs: until });
    expect(decideLocally(bucket, until, slow)).toEqual({ kind: 'lease' });
  });

  it('says Retry-After in whole seconds, at least one', () => {
    expect(retryAfterSeconds(1_050, 1_000)).toBe(1);
    expect(retryAfterSeconds(3_001, 1_000)).toBe(3);
    expect(retryAfterSeconds(900, 1_000)).toBe(1);
  });

  it("reads a deployment's limits: defaults for what is left out, an error for anything malformed", () => {
    expect(parseRateLimits(undefined)).toEqual(DEFAULT_RATE_LIMITS);
    expect(parseRateLimits('{"programmer":{"ratePerSecond":5,"burst":10}}')).toEqual({ ...DEFAULT_RATE_LIMITS, programmer: { ratePerSecond: 5, burst: 10 } });
    expect(() => parseRateLimits('{"programer":{"ratePerSecond":5,"burst":10}}')).toThrow(/unknown scope programer/);
    expect(() => parseRateLimits('{"programmer":{"ratePerSecond":0,"burst":10}}')).toThrow(/ratePerSecond/);
    expect(() => parseRateLimits('{"deviceAccount":{"ratePerSecond":5}}')).toThrow(/burst/);
    expect(() => parseRateLimits('not json')).toThrow();
  });

  it("leases by the container's own demand: what it spent over the last lease lifetime and one more, up to a chunk", () => {
    const bucket = emptyLocalBucket();
    expect(leaseSize(limit, bucket, 10_000)).toBe(1);
    bucket.tokens = 3;
    for (const at of [9_000, 9_500, 9_900]) spendToken(bucket, at, limit);
    expect(bucket.tokens).toBe(0);
    // 9,000 is a whole lifetime ago at 10,000: two recent takes, so three tokens.
    expect(leaseSize(limit, bucket, 9_000 + LEASE_LIFETIME_MS)).toBe(3);
    // A busy container gets a full chunk, never more; it remembers no more takes than that.
    for (let i = 0; i < 20; i += 1) spendToken(bucket, 9_950, limit);
    expect(leaseSize(limit, bucket, 10_000)).toBe(chunkSize(limit));
    expect(bucket.recentTakesMs.length).toBe(chunkSize(limit));
  });

  describe('passes', () => {
    it('lets a request through from memory once per interval when no token is leased, and charges it with the next lease', () => {
      const bucket = emptyLocalBucket();
      expect(decideLocally(bucket, 0, limit, true, 'configuration')).toEqual({ kind: 'pass' });
      takePass(bucket, 0, limit);
      expect(owedTokens(bucket, 0)).toBe(1);
      // Seen again within the interval: no second pass; the lease carries the owed token.
      expect(decideLocally(bucket, 2_000, limit, true, 'configuration')).toEqual({ kind: 'lease' });
      expect(leaseSize(limit, bucket, 2_000)).toBe(3);
      settleLease(bucket, 3, 2_000);
      expect(owedTokens(bucket, 2_000)).toBe(0);
      expect(bucket.tokens).toBe(2);
    });

    it('keeps the debt when a lease brings only the one token the request needs', () => {
      const bucket = emptyLocalBucket();
      takePass(bucket, 0, limit);
      settleLease(bucket, 1, 1_000);
      expect(bucket.tokens).toBe(1);
      expect(owedTokens(bucket, 1_000)).toBe(1);
      settleLease(bucket, 4, 2_000);
      expect(bucket.tokens).toBe(3);
      expect(owedTokens(bucket, 2_000)).toBe(0);
    });

    it('forgives a pass no lease followed within the interval, and passes again once the interval is over', () => {
      const bucket = emptyLocalBucket();
      takePass(bucket, 0, limit);
      expect(decideLocally(bucket, PASS_INTERVAL_MS - 1, limit, true, 'configuration')).toEqual({ kind: 'lease' });
      // A lease paid the pass: still no second pass within the interval.
      const paid = emptyLocalBucket();
      takePass(paid, 0, limit);
      settleLease(paid, 2, 1_000);
      paid.tokens = 0;
      expect(decideLocally(paid, PASS_INTERVAL_MS - 1, limit, true, 'configuration')).toEqual({ kind: 'lease' });
      expect(decideLocally(paid, PASS_INTERVAL_MS, limit, true, 'configuration')).toEqual({ kind: 'pass' });
      expect(owedTokens(bucket, PASS_INTERVAL_MS)).toBe(0);
      expect(leaseSize(limit, bucket, PASS_INTERVAL_MS)).toBe(1);
      expect(decideLocally(bucket, PASS_INTERVAL_MS, limit, true, 'configuration')).toEqual({ kind: 'pass' });
    });

    it('gives no pass while tokens are leased, while throttled, or to a bucket limited below the minimum rate', () => {
      const bucket = emptyLocalBucket();
      bucket.tokens = 1;
      bucket.leaseExpiresAtMs = LEASE_LIFETIME_MS;
      expect(decideLocally(bucket, 0, limit, true, 'configuration')).toEqual({ kind: 'take' });
      bucket.throttledUntilMs = 1_000;
      expect(decideLocally(bucket, 500, limit, true, 'configuration')).toEqual({ kind: 'throttled', untilMs: 1_000 });
      expect(decideLocally(emptyLocalBucket(), 0, slow, true, 'configuration')).toEqual({ kind: 'lease' });
    });

    it('never leases more than the bucket holds to carry a debt', () => {
      const tiny: RateLimit = { ratePerSecond: 20, burst: 1 };
      const bucket = emptyLocalBucket();
      takePass(bucket, 0, tiny);
      expect(leaseSize(tiny, bucket, 100)).toBe(1);
    });

    it("passes on an account's bucket only while the operator's limit learnt from its item is fresh", () => {
      const bucket = emptyLocalBucket();
      // Never leased: the item may carry an operator's limit this container has not seen.
      expect(decideLocally(bucket, 0, limit, true, 'item')).toEqual({ kind: 'lease' });
      bucket.limitLearntAtMs = 0;
      expect(decideLocally(bucket, 1_000, limit, true, 'item')).toEqual({ kind: 'pass' });
      // Learnt too long ago: the next request leases and learns again.
      expect(decideLocally(bucket, LEARNT_LIMIT_FRESH_MS, limit, true, 'item')).toEqual({ kind: 'lease' });
      // A learnt operator's limit below the minimum rate: no passes.
      bucket.limitLearntAtMs = LEARNT_LIMIT_FRESH_MS;
      expect(decideLocally(bucket, LEARNT_LIMIT_FRESH_MS + 1, slow, true, 'item')).toEqual({ kind: 'lease' });
    });

    it('gives no pass when passes are off', () => {
      expect(decideLocally(emptyLocalBucket(), 0, limit, false, 'configuration')).toEqual({ kind: 'lease' });
    });
  });
});
