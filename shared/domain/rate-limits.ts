/**
 * Fair throttling: token buckets per account and per programmer, kept exact by DynamoDB and
 * cheap by leasing. The shared bucket is a GCRA (generic cell rate algorithm) "theoretical
 * arrival time" in one item: taking n tokens moves it n emission intervals on, and is allowed
 * while it stays within the burst tolerance of now. Containers take tokens from it in chunks
 * (one conditional UpdateItem per chunk, store/rate-limits.ts) and spend them from memory, so
 * a request costs no DynamoDB call until its container's chunk is used up, and a throttled
 * container answers 429 from memory until the shared bucket has tokens again.
 *
 * Everything here is arithmetic on milliseconds: the store supplies the clock and the item.
 */
export interface RateLimit {
  /** Sustained requests a second. */
  ratePerSecond: number;
  /** Requests that may come at once after a quiet spell (the bucket's size). */
  burst: number;
}

export type RateLimitScope = 'deviceAccount' | 'programmer' | 'managementAccount';

export type RateLimits = Record<RateLimitScope, RateLimit>;

/**
 * Defaults (README "Fair throttling"). A programmer asks about once per batch it programs, a
 * gang programmer's channels a few times a second; 50/s is above what one programmer asking
 * back to back reaches (about 37/s on the reference machine), so only a broken or hostile
 * device meets it. An account's programmers share 100/s (the capacity model's busiest
 * account), people and scripts 50/s with bursts of 300 (a script registering a few hundred
 * images at once). The platform operator sets an account's own limits.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  programmer: { ratePerSecond: 50, burst: 100 },
  deviceAccount: { ratePerSecond: 100, burst: 200 },
  managementAccount: { ratePerSecond: 50, burst: 300 },
};

/**
 * Tokens a container leases at once: a quarter second of the rate. Larger chunks mean fewer
 * writes but more tokens parked in one container while another is refused; the parked tokens
 * are also what the limit can be exceeded by (see `LEASE_LIFETIME_MS`).
 */
export const LEASE_SECONDS = 0.25;

/**
 * Leased tokens not spent within this time are dropped, so a container cannot save tokens up and
 * spend them later on top of what others lease then: over any interval the tokens spent are at
 * most what the shared bucket allowed over that interval plus this lifetime. Leases are sized by
 * the demand over this same time, so a longer lifetime means fewer, larger leases: with 16 busy
 * containers, 3 s instead of 1 s took the lease writes from 1.53 to 0.70 per authorization.
 */
export const LEASE_LIFETIME_MS = 3_000;

export function chunkSize(limit: RateLimit): number {
  return Math.max(1, Math.min(Math.floor(limit.burst), Math.ceil(limit.ratePerSecond * LEASE_SECONDS)));
}

export function emissionIntervalMs(limit: RateLimit): number {
  return 1000 / limit.ratePerSecond;
}

/** How far the arrival time may run ahead of now: a full bucket's worth of intervals. */
function toleranceMs(limit: RateLimit): number {
  return limit.burst * emissionIntervalMs(limit);
}

/**
 * The conditional update that takes `tokens` from the shared bucket, given the arrival time
 * last seen (undefined: never seen, or the item may not exist). An idle bucket (arrival time
 * in the past) restarts from now; a busy one moves on from where it stands, conditioned on not
 * passing the tolerance. Which form to try is a guess from the last arrival time known; a wrong
 * guess fails its condition and `afterRefusal` says what to do next.
 */
export type LeaseAttempt =
  | { form: 'restart'; tokens: number; nowMs: number; newArrivalMs: number }
  | { form: 'advance'; tokens: number; nowMs: number; incrementMs: number; latestArrivalMs: number };

export function leaseAttempt(limit: RateLimit, tokens: number, nowMs: number, knownArrivalMs: number | undefined): LeaseAttempt {
  const incrementMs = tokens * emissionIntervalMs(limit);
  if (knownArrivalMs === undefined || knownArrivalMs <= nowMs) return { form: 'restart', tokens, nowMs, newArrivalMs: nowMs + incrementMs };
  return { form: 'advance', tokens, nowMs, incrementMs, latestArrivalMs: nowMs + toleranceMs(limit) - incrementMs };
}

/** Tokens the shared bucket holds at `nowMs` for a stored arrival time. */
export function availableTokens(limit: RateLimit, arrivalMs: number | undefined, nowMs: number): number {
  if (arrivalMs === undefined || arrivalMs <= nowMs) return Math.floor(limit.burst);
  return Math.max(0, Math.floor((nowMs + toleranceMs(limit) - arrivalMs) / emissionIntervalMs(limit) + 1e-9));
}

/** When `tokens` tokens are there: the arrival time must fall back to that many intervals inside the tolerance. */
export function tokensAtMs(limit: RateLimit, arrivalMs: number, tokens: number): number {
  return arrivalMs + tokens * emissionIntervalMs(limit) - toleranceMs(limit);
}

/**
 * What a refused lease (its condition failed; `arrivalMs` is the item's value then) leads to:
 * another attempt for what is there (a race lost, or less than a chunk left), or a refusal until
 * a whole chunk is there again. Waiting for a whole chunk keeps a flooded bucket at one write
 * per chunk instead of one per token, and what the flood is refused meanwhile costs no write.
 */
export function afterRefusal(
  limit: RateLimit,
  wanted: number,
  arrivalMs: number | undefined,
  nowMs: number,
): { retry: LeaseAttempt } | { throttledUntilMs: number } {
  const available = availableTokens(limit, arrivalMs, nowMs);
  if (available >= 1) return { retry: leaseAttempt(limit, Math.min(wanted, available), nowMs, arrivalMs) };
  return { throttledUntilMs: tokensAtMs(limit, arrivalMs as number, wanted) };
}

/** `Retry-After` is whole seconds: at least 1, rounded up. */
export function retryAfterSeconds(untilMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((untilMs - nowMs) / 1000));
}

/** One container's view of one bucket: leased tokens in hand, or a refusal in force. */
export interface LocalBucket {
  tokens: number;
  leaseExpiresAtMs: number;
  throttledUntilMs: number;
  /** The shared bucket's arrival time as last seen: picks the update form to try first. */
  knownArrivalMs?: number;
  /** Learnt from the shared item: the platform operator's limit for this account, if any. */
  limit?: RateLimit;
  /** When the shared item last told this container that limit (or that there is none). */
  limitLearntAtMs?: number;
  /** When this container served its latest requests (at most a chunk's worth): its own demand. */
  recentTakesMs: number[];
  /** When this container last let a request through on a pass. */
  lastPassAtMs?: number;
  /** When this container let a request through on a pass not yet charged to the shared bucket. */
  passOwedAtMs?: number;
}

export function emptyLocalBucket(): LocalBucket {
  return { tokens: 0, leaseExpiresAtMs: 0, throttledUntilMs: 0, recentTakesMs: [] };
}

function noteTake(bucket: LocalBucket, nowMs: number, limit: RateLimit): void {
  bucket.recentTakesMs.push(nowMs);
  if (bucket.recentTakesMs.length > chunkSize(limit)) bucket.recentTakesMs.shift();
}

/** Spends one leased token, remembering when (for the size of the next lease). */
export function spendToken(bucket: LocalBucket, nowMs: number, limit: RateLimit): void {
  bucket.tokens -= 1;
  noteTake(bucket, nowMs, limit);
}

/**
 * Once in this time, a container holding no leased token of a bucket lets a request through from
 * memory (a *pass*) and charges it to the shared bucket with its next lease of that bucket, if
 * one comes within the same time; otherwise the pass is never charged.
 *
 * Why: at factory scale a programmer's requests (and a quiet account's) are spread over many
 * containers, each seeing one of them every few minutes, so every request would lease a single
 * token: one write per bucket per request, twice the writes of the authorization itself. A
 * caller that asks often enough to matter is seen again by its containers within the interval,
 * so its passes are charged and its limit stays exact. What is never charged is at most one
 * request per container per bucket per interval (containers ÷ 10 s: 20/s with the device
 * functions' 200 reserved containers), only for callers that a container sees less often than
 * that, and never for a bucket limited below `PASS_MIN_RATE_PER_SECOND`.
 */
export const PASS_INTERVAL_MS = 10_000;

/** Buckets limited below this rate get no passes: a pass would be a large share of their limit. */
export const PASS_MIN_RATE_PER_SECOND = 10;

/**
 * A pass is decided on the limit the container knows, and a platform operator may set or change
 * an account's limit at any time (it is on the shared item): what a container last learnt from
 * the item counts for this long. After that its next request leases, which learns the limit
 * again, so an operator's lower limit stops passes within 5 minutes even for a caller every
 * container sees only rarely (such a caller would otherwise pass on every container forever);
 * a caller a container sees more often leases there, and meets the new limit at once. Longer
 * means fewer leases at scale (one per container and account per interval); API Gateway's own
 * usage-plan changes also take minutes to apply.
 */
export const LEARNT_LIMIT_FRESH_MS = 300_000;

/** Passes this container gave and still owes the shared bucket (0 or 1; forgiven after a pass interval). */
export function owedTokens(bucket: LocalBucket, nowMs: number): number {
  return bucket.passOwedAtMs !== undefined && nowMs - bucket.passOwedAtMs < PASS_INTERVAL_MS ? 1 : 0;
}

/** Serves a request on a pass: owed to the shared bucket until this container's next lease of it. */
export function takePass(bucket: LocalBucket, nowMs: number, limit: RateLimit): void {
  bucket.passOwedAtMs = nowMs;
  bucket.lastPassAtMs = nowMs;
  noteTake(bucket, nowMs, limit);
}

/**
 * A lease of `granted` tokens pays what the container owes first, keeping one token for the
 * request that leased; the rest is spent from memory.
 */
export function settleLease(bucket: LocalBucket, granted: number, nowMs: number): void {
  const paid = Math.min(owedTokens(bucket, nowMs), granted - 1);
  if (paid > 0 || owedTokens(bucket, nowMs) === 0) bucket.passOwedAtMs = undefined;
  bucket.tokens = granted - paid;
}

/**
 * Tokens to lease now: what this container spent over the last lease lifetime, and one more,
 * up to a full chunk. A container serving one request a second leases two tokens, not a
 * quarter second of the whole account's rate: with many containers each leasing a full chunk
 * and spending a token of it before it expires, the leased-and-dropped tokens would use up the
 * shared bucket and refuse requests far below the limit.
 */
export function leaseSize(limit: RateLimit, bucket: LocalBucket, nowMs: number): number {
  const recent = bucket.recentTakesMs.filter((at) => nowMs - at < LEASE_LIFETIME_MS).length;
  const forDemand = Math.max(1, Math.min(chunkSize(limit), recent + 1));
  // An owed pass rides on the lease; never more than the bucket holds, so a lease can succeed.
  return Math.max(1, Math.min(Math.floor(limit.burst), forDemand + owedTokens(bucket, nowMs)));
}

/** Served from memory (`take`), on a pass (`pass`), refused from memory (`throttled`), or a lease is needed. */
export type LocalDecision = { kind: 'take' } | { kind: 'pass' } | { kind: 'throttled'; untilMs: number } | { kind: 'lease' };

/**
 * `limitSource`: where the bucket's limit comes from. A deployment's configuration is known to
 * every container; an account's bucket may carry an operator's limit, known only as fresh as the
 * container's last lease (`LEARNT_LIMIT_FRESH_MS`).
 */
export function decideLocally(bucket: LocalBucket, nowMs: number, limit: RateLimit, passes = true, limitSource: 'configuration' | 'item' = 'item'): LocalDecision {
  if (nowMs < bucket.throttledUntilMs) return { kind: 'throttled', untilMs: bucket.throttledUntilMs };
  if (bucket.tokens >= 1 && nowMs < bucket.leaseExpiresAtMs) return { kind: 'take' };
  const passDue = bucket.lastPassAtMs === undefined || nowMs - bucket.lastPassAtMs >= PASS_INTERVAL_MS;
  const limitKnown = limitSource === 'configuration' || (bucket.limitLearntAtMs !== undefined && nowMs - bucket.limitLearntAtMs < LEARNT_LIMIT_FRESH_MS);
  if (passes && passDue && limitKnown && limit.ratePerSecond >= PASS_MIN_RATE_PER_SECOND) return { kind: 'pass' };
  return { kind: 'lease' };
}

/**
 * Reads a deployment's limits (CDK context `rateLimits`, handed to the functions as JSON): any
 * scope left out keeps its default; a malformed value fails the cold start, never a request.
 */
export function parseRateLimits(json: string | undefined): RateLimits {
  if (json === undefined || json.trim() === '') return DEFAULT_RATE_LIMITS;
  const parsed = JSON.parse(json) as Record<string, unknown>;
  const limits: RateLimits = { ...DEFAULT_RATE_LIMITS };
  for (const [scope, value] of Object.entries(parsed)) {
    if (!(scope in DEFAULT_RATE_LIMITS)) throw new Error(`rateLimits: unknown scope ${scope} (known: ${Object.keys(DEFAULT_RATE_LIMITS).join(', ')})`);
    limits[scope as RateLimitScope] = validRateLimit(value, `rateLimits.${scope}`);
  }
  return limits;
}

export function validRateLimit(value: unknown, where: string): RateLimit {
  const { ratePerSecond, burst } = (value ?? {}) as Partial<RateLimit>;
  if (typeof ratePerSecond !== 'number' || !(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new Error(`${where}.ratePerSecond must be a positive number`);
  if (typeof burst !== 'number' || !(burst >= 1) || !Number.isFinite(burst)) throw new Error(`${where}.burst must be a number of at least 1`);
  return { ratePerSecond, burst };
}
