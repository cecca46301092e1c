import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { ThrottledError } from '../../shared/domain/errors.js';
import { DEFAULT_RATE_LIMITS, LEARNT_LIMIT_FRESH_MS, LEASE_LIFETIME_MS, PASS_INTERVAL_MS, type RateLimits, chunkSize } from '../../shared/domain/rate-limits.js';
import { createDocumentClient } from '../../shared/store/clients.js';
import type { Db } from '../../shared/store/db.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import { type RateLimitedCaller, RateLimiter, setAccountRateLimit } from '../../shared/store/rate-limits.js';

/**
 * The leasing of store/rate-limits.ts against the emulator's DynamoDB: several containers (one
 * RateLimiter each) flood one bucket at once. Time is a shared simulated clock that the test
 * moves on, so the bounds are checked exactly, whatever the machine's speed.
 */
describe('rate-limit leases on the emulator', () => {
  let db: Db;
  let calls = 0;
  const limits: RateLimits = { ...DEFAULT_RATE_LIMITS, programmer: { ratePerSecond: 20, burst: 40 } };

  beforeAll(() => {
    Object.assign(process.env, EMULATOR_AWS_ENV);
    const doc = createDocumentClient();
    const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
    // Counts every call the limiters make, to show what a throttled request costs.
    const counted = Object.assign(Object.create(doc) as typeof doc, {
      send: (command: unknown) => {
        calls += 1;
        return send(command);
      },
    });
    db = { doc: counted, table: inject('tableName'), events: inject('eventsTableName'), cursors: NO_CURSORS };
  });

  const programmer = () => ({ kind: 'programmer' as const, accountId: `acc_rl${randomUUID().slice(0, 8)}`, programmerId: 'prg_flood' });

  async function admitted(limiter: RateLimiter, caller: RateLimitedCaller, requests: number): Promise<{ admitted: number; retryAfter: number[] }> {
    const outcomes = await Promise.allSettled(Array.from({ length: requests }, () => limiter.admit(caller)));
    const refusals = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    for (const reason of refusals) expect(reason).toBeInstanceOf(ThrottledError);
    return { admitted: outcomes.length - refusals.length, retryAfter: refusals.map((r) => (r as ThrottledError).retryAfterSeconds) };
  }

  it('six containers flooding one programmer get the burst and then the rate, never more than one lease lifetime of extra tokens', async () => {
    const caller = programmer();
    let clock = 1_800_000_000_000;
    const containers = Array.from({ length: 6 }, () => new RateLimiter(db, limits, () => clock));
    const perStep: { at: number; admitted: number }[] = [];
    const stepMs = 50;
    // 4 s of simulated time; every container is asked 4 times per 50 ms (480/s, 24× the rate).
    for (let step = 0; step < 80; step += 1) {
      const counts = await Promise.all(containers.map((container) => admitted(container, caller, 4)));
      perStep.push({ at: clock, admitted: counts.reduce((sum, c) => sum + c.admitted, 0) });
      clock += stepMs;
    }
    const total = perStep.reduce((sum, s) => sum + s.admitted, 0);
    const { ratePerSecond, burst } = limits.programmer;
    const seconds = (80 * stepMs) / 1000;
    // The DynamoDB bucket is exact: what all containers leased never passes burst + rate × time.
    expect(total).toBeLessThanOrEqual(burst + ratePerSecond * seconds);
    // And the flood is not starved below it by more than the chunks parked when the run ended.
    expect(total).toBeGreaterThanOrEqual(burst + ratePerSecond * seconds - containers.length * chunkSize(limits.programmer) - ratePerSecond);
    // Once the burst is spent, any 1 s holds at most the rate plus the leases' lifetime of tokens.
    const windowMs = 1_000;
    const first = perStep[0]!.at;
    for (const start of perStep.filter((s) => s.at >= first + 2_500 && s.at + windowMs <= first + seconds * 1000)) {
      const inWindow = perStep.filter((s) => s.at >= start.at && s.at < start.at + windowMs).reduce((sum, s) => sum + s.admitted, 0);
      expect(inWindow).toBeLessThanOrEqual(ratePerSecond + Math.min(containers.length * chunkSize(limits.programmer), (ratePerSecond * LEASE_LIFETIME_MS) / 1000));
    }
  });

  it('a caller spread thinly over many containers costs no lease; seen again within the pass interval, its pass is charged', async () => {
    const caller = programmer();
    let clock = 1_800_000_050_000;
    const containers = Array.from({ length: 8 }, () => new RateLimiter(db, limits, () => clock));
    // One request every 2 s, round robin: each container sees the caller every 16 s, longer than
    // the pass interval. Each container's first request leases the account's bucket (which may
    // carry an operator's limit); the programmer's passes.
    let before = calls;
    for (let i = 0; i < 24; i += 1) {
      if (i === containers.length) {
        expect(calls).toBe(before + containers.length);
        before = calls;
      }
      expect((await admitted(containers[i % containers.length]!, caller, 1)).admitted).toBe(1);
      clock += PASS_INTERVAL_MS / 5;
    }
    // Then, while what each learnt is fresh, no call at all.
    expect(calls).toBe(before);
    // Every 2 s on one container: a pass, then leases that carry it.
    const busy = new RateLimiter(db, limits, () => clock);
    for (let i = 0; i < 4; i += 1) {
      await admitted(busy, caller, 1);
      clock += PASS_INTERVAL_MS / 5;
    }
    expect(calls).toBeGreaterThan(before);
  });

  it("an operator's lower limit ends the passes of every container within a minute, however rarely each sees the caller", async () => {
    const caller = { kind: 'account' as const, accountId: `acc_rl${randomUUID().slice(0, 8)}` };
    let clock = 1_800_000_070_000;
    const containers = Array.from({ length: 8 }, () => new RateLimiter(db, limits, () => clock));
    for (const container of containers) await admitted(container, caller, 1);
    await setAccountRateLimit(db, caller.accountId, 'managementAccount', { ratePerSecond: 2, burst: 3 });
    clock += LEARNT_LIMIT_FRESH_MS;
    // 40 requests over 4 s, spread over the containers: what the operator allows, and no pass.
    let served = 0;
    for (let i = 0; i < 40; i += 1) {
      served += (await admitted(containers[i % containers.length]!, caller, 1)).admitted;
      clock += 100;
    }
    expect(served).toBeLessThanOrEqual(3 + 2 * 4);
    await setAccountRateLimit(db, caller.accountId, 'managementAccount', undefined);
  });

  // The first of these requests goes through on a pass; that exactly the burst is served shows the pass was charged.
  it('refuses from memory while throttled: a 429 costs no DynamoDB call, and says when to come back', async () => {
    const caller = programmer();
    const clock = 1_800_000_100_000;
    const limiter = new RateLimiter(db, limits, () => clock);
    const first = await admitted(limiter, caller, limits.programmer.burst + 10);
    expect(first.admitted).toBe(limits.programmer.burst);
    const before = calls;
    const again = await admitted(limiter, caller, 50);
    expect(again.admitted).toBe(0);
    expect(calls).toBe(before);
    expect(new Set(again.retryAfter)).toEqual(new Set([1]));
  });

  it('the programmer and its account are separate buckets; another programmer of the account is served', async () => {
    const caller = programmer();
    const clock = 1_800_000_200_000;
    const limiter = new RateLimiter(db, limits, () => clock);
    await admitted(limiter, caller, limits.programmer.burst + 5);
    const neighbour = { ...caller, programmerId: 'prg_quiet' };
    expect((await admitted(limiter, neighbour, 10)).admitted).toBe(10);
  });

  it("a programmer refused by its own bucket spends nothing of its account's: the account's other programmers keep it", async () => {
    const caller = programmer();
    const { ratePerSecond, burst } = limits.programmer;
    // The account's device side holds five tokens more than the flooding programmer's burst.
    await setAccountRateLimit(db, caller.accountId, 'deviceAccount', { ratePerSecond, burst: burst + 5 });
    const clock = 1_800_000_250_000;
    const limiter = new RateLimiter(db, limits, () => clock);
    expect((await admitted(limiter, caller, burst + 100)).admitted).toBe(burst);
    expect((await admitted(limiter, caller, 100)).admitted).toBe(0);
    const neighbour = { ...caller, programmerId: 'prg_quiet' };
    expect((await admitted(limiter, neighbour, 10)).admitted).toBe(5);
  });

  it("takes the platform operator's limit for an account from the bucket item on the next lease", async () => {
    const caller = { kind: 'account' as const, accountId: `acc_rl${randomUUID().slice(0, 8)}` };
    await setAccountRateLimit(db, caller.accountId, 'managementAccount', { ratePerSecond: 2, burst: 3 });
    let clock = 1_800_000_300_000;
    const limiter = new RateLimiter(db, limits, () => clock);
    // The first lease assumed the default, failed on the operator's limit and leased by it.
    const first = await admitted(limiter, caller, limits.managementAccount.burst);
    expect(first.admitted).toBe(3);
    clock += 10_000;
    const later = await admitted(limiter, caller, 20);
    expect(later.admitted).toBe(3);
    await setAccountRateLimit(db, caller.accountId, 'managementAccount', undefined);
    clock += 60_000;
    // The next lease assumed the operator's limit, failed, and leased by the default again.
    const back = await admitted(limiter, caller, 20);
    expect(back.admitted).toBe(20);
  });
});
