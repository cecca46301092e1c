import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ThrottledError } from '../domain/errors.js';
import {
  LEASE_LIFETIME_MS,
  type LeaseAttempt,
  type LocalBucket,
  type RateLimit,
  type RateLimitScope,
  type RateLimits,
  afterRefusal,
  chunkSize,
  decideLocally,
  emptyLocalBucket,
  leaseSize,
  spendToken,
  leaseAttempt,
  retryAfterSeconds,
  settleLease,
  takePass,
} from '../domain/rate-limits.js';
import { type Db, isConditionFailure } from './db.js';
import { withFaultRetry } from './faults.js';
import { type Key, keys } from './keys.js';

interface BucketRef {
  scope: RateLimitScope;
  key: Key;
  /** Who is limited, for the 429's message. */
  subject: string;
}

/** Who a request counts against (the http layer's Principal fits it). */
export type RateLimitedCaller = { kind: 'programmer'; accountId: string; programmerId: string } | { kind: 'account'; accountId: string };

/** Device routes count against the programmer and its account; account routes against the account's management bucket. */
export function bucketsOf(principal: RateLimitedCaller): BucketRef[] {
  if (principal.kind === 'programmer') {
    return [
      { scope: 'programmer', key: keys.rateBucket(principal.accountId, { scope: 'programmer', programmerId: principal.programmerId }), subject: 'this programmer' },
      { scope: 'deviceAccount', key: keys.rateBucket(principal.accountId, { scope: 'deviceAccount' }), subject: "this account's programmers" },
    ];
  }
  return [{ scope: 'managementAccount', key: keys.rateBucket(principal.accountId, { scope: 'managementAccount' }), subject: "this account's keys" }];
}

/** The stored bucket: arrival time and the platform operator's limit, if one is set. */
interface BucketItem {
  arrivalMs?: number;
  limitRatePerSecond?: number;
  limitBurst?: number;
}

const LEASE_ATTEMPTS = 3;
const MAX_LOCAL_ROUNDS = 100;

/**
 * One per container. `admit` spends a token of each of the principal's buckets from memory and
 * leases a chunk from DynamoDB (one conditional UpdateItem) only when the container's chunk is
 * spent; a refused bucket answers 429 from memory until a chunk is due again. Once per 10 s a
 * request finding no token goes through on a pass instead, charged with the next lease
 * (domain/rate-limits.ts `PASS_INTERVAL_MS`). Concurrent requests of one container (tests, the
 * bench's cost model) share one lease in flight.
 */
export class RateLimiter {
  private readonly local = new Map<string, LocalBucket>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly limits: RateLimits,
    private readonly now: () => number = Date.now,
    /** Passes (on in the functions); the bench turns them off to show what they save. */
    private readonly passes = true,
  ) {}

  /**
   * Decides every bucket of the principal from memory first: a bucket refused from memory
   * refuses the request before any other bucket is spent (a throttled programmer never drains
   * its account's budget). Buckets whose chunk is spent are leased at the same time, so a request
   * waits for one round trip however many of its buckets need one.
   */
  async admit(principal: RateLimitedCaller): Promise<void> {
    const buckets = bucketsOf(principal).map((ref) => ({ ref, local: this.localBucket(ref) }));
    // A lease settles the decision for the request that made it; requests of the same container
    // waiting on it may find its tokens spent by others and lease again. Each round grants or
    // throttles, so this ends; the bound only guards against a bug looping forever.
    for (let round = 0; round < MAX_LOCAL_ROUNDS; round += 1) {
      const decisions = buckets.map((bucket) => ({ ...bucket, decision: decideLocally(bucket.local, this.now(), bucket.local.limit ?? this.limits[bucket.ref.scope], this.passes, limitSourceOf(bucket.ref.scope)) }));
      for (const { ref, local, decision } of decisions) {
        if (decision.kind !== 'throttled') continue;
        const limit = local.limit ?? this.limits[ref.scope];
        throw new ThrottledError(
          retryAfterSeconds(decision.untilMs, this.now()),
          `Rate limit of ${ref.subject} exceeded (${limit.ratePerSecond} requests/s, bursts of ${limit.burst}); retry after Retry-After seconds`,
        );
      }
      const leasing = decisions.filter(({ decision }) => decision.kind === 'lease');
      if (leasing.length === 0) {
        for (const { ref, local, decision } of decisions) {
          const limit = local.limit ?? this.limits[ref.scope];
          if (decision.kind === 'pass') takePass(local, this.now(), limit);
          else spendToken(local, this.now(), limit);
        }
        return;
      }
      await Promise.all(leasing.map(({ ref, local }) => this.sharedLease(ref, local)));
    }
    throw new ThrottledError(1, 'Rate limit: too many requests at once in this container; retry');
  }

  private localBucket(ref: BucketRef): LocalBucket {
    let local = this.local.get(ref.key.pk);
    if (!local) {
      local = emptyLocalBucket();
      this.local.set(ref.key.pk, local);
    }
    return local;
  }

  /** Concurrent requests of one container share the lease in flight for a bucket. */
  private sharedLease(ref: BucketRef, local: LocalBucket): Promise<void> {
    const id = ref.key.pk;
    let pending = this.inFlight.get(id);
    if (!pending) {
      pending = this.lease(ref, local).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    return pending;
  }

  private async lease(ref: BucketRef, local: LocalBucket): Promise<void> {
    local.tokens = 0;
    let limit = local.limit ?? this.limits[ref.scope];
    const wanted = leaseSize(limit, local, this.now());
    let attempt = leaseAttempt(limit, wanted, this.now(), local.knownArrivalMs);
    for (let round = 0; round < LEASE_ATTEMPTS; round += 1) {
      const outcome = await this.tryLease(ref.key, attempt, local.limit);
      local.knownArrivalMs = outcome.item?.arrivalMs;
      local.limit = operatorLimit(outcome.item);
      local.limitLearntAtMs = this.now();
      if (outcome.granted) {
        settleLease(local, attempt.tokens, this.now());
        local.leaseExpiresAtMs = this.now() + LEASE_LIFETIME_MS;
        return;
      }
      limit = local.limit ?? this.limits[ref.scope];
      const next = afterRefusal(limit, Math.min(wanted, chunkSize(limit)), outcome.item?.arrivalMs, this.now());
      if ('throttledUntilMs' in next) {
        local.throttledUntilMs = next.throttledUntilMs;
        return;
      }
      attempt = next.retry;
    }
    // Lost the race three times in a row while tokens were there: no refusal (the caller did
    // nothing wrong); `take` decides again and leases anew.
  }

  /**
   * One conditional UpdateItem. It is also conditioned on the limit the container assumed (the
   * operator's, or none): after the operator changes an account's limit, the next lease of each
   * container fails once, learns the new limit from the item and leases by it, so no container
   * spends a chunk sized by the old limit.
   */
  private async tryLease(key: Key, attempt: LeaseAttempt, assumedOperatorLimit: RateLimit | undefined): Promise<{ granted: boolean; item?: BucketItem }> {
    const limitCondition = assumedOperatorLimit ? 'limitRatePerSecond = :assumedRate AND limitBurst = :assumedBurst' : 'attribute_not_exists(limitRatePerSecond)';
    const limitValues = assumedOperatorLimit ? { ':assumedRate': assumedOperatorLimit.ratePerSecond, ':assumedBurst': assumedOperatorLimit.burst } : {};
    const update =
      attempt.form === 'restart'
        ? {
            UpdateExpression: 'SET arrivalMs = :newArrival',
            ConditionExpression: `(attribute_not_exists(arrivalMs) OR arrivalMs <= :now) AND ${limitCondition}`,
            ExpressionAttributeValues: { ':newArrival': attempt.newArrivalMs, ':now': attempt.nowMs, ...limitValues },
          }
        : {
            UpdateExpression: 'SET arrivalMs = arrivalMs + :increment',
            ConditionExpression: `arrivalMs > :now AND arrivalMs <= :latest AND ${limitCondition}`,
            ExpressionAttributeValues: { ':increment': attempt.incrementMs, ':now': attempt.nowMs, ':latest': attempt.latestArrivalMs, ...limitValues },
          };
    try {
      const output = await withFaultRetry(() =>
        this.db.doc.send(
          new UpdateCommand({
            TableName: this.db.table,
            Key: key,
            ...update,
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return { granted: true, item: output.Attributes as BucketItem | undefined };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The failed condition's item comes back in DynamoDB's wire form (SDK and lean client alike).
      const old = (error as { Item?: Parameters<typeof unmarshall>[0] }).Item;
      return { granted: false, item: old ? (unmarshall(old) as BucketItem) : undefined };
    }
  }
}

/** The platform operator sets limits on accounts' buckets only (`setAccountRateLimit`); a programmer's comes from the deployment. */
function limitSourceOf(scope: RateLimitScope): 'configuration' | 'item' {
  return scope === 'programmer' ? 'configuration' : 'item';
}

function operatorLimit(item: BucketItem | undefined): RateLimit | undefined {
  const ratePerSecond = item?.limitRatePerSecond;
  const burst = item?.limitBurst;
  return typeof ratePerSecond === 'number' && ratePerSecond > 0 && typeof burst === 'number' && burst >= 1 ? { ratePerSecond, burst } : undefined;
}

/**
 * The platform operator's limit for one account's device or management side (`npm run admin --
 * set-rate-limit`); undefined puts the deployment's default back. Containers learn it from the
 * bucket item on their next lease (their leases are conditioned on the limit they assume), so it
 * governs every chunk leased after the change; chunks already leased are spent within a second.
 */
export async function setAccountRateLimit(db: Db, accountId: string, scope: 'deviceAccount' | 'managementAccount', limit: RateLimit | undefined): Promise<void> {
  await db.doc.send(
    new UpdateCommand({
      TableName: db.table,
      Key: keys.rateBucket(accountId, { scope }),
      ...(limit
        ? { UpdateExpression: 'SET limitRatePerSecond = :rate, limitBurst = :burst', ExpressionAttributeValues: { ':rate': limit.ratePerSecond, ':burst': limit.burst } }
        : { UpdateExpression: 'REMOVE limitRatePerSecond, limitBurst' }),
    }),
  );
}
