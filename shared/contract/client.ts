import type { z } from 'zod';
import type { CredentialsFileType } from './account.js';
import type { ResponseOf, RouteContract } from './route.js';
import { RetriesExhaustedError, backoffDelayMs, retry, sleep } from '../retry.js';

/**
 * The typed client of the public API: one generic `call` driven by the route objects of the
 * contract, so every route (and every route added later) is typed from its zod schemas.
 * Browser-safe on purpose (no node: imports): reading a credentials file is the CLI's job.
 */

type AnyObject = z.ZodType<Record<string, unknown>>;
type AnyRoute = RouteContract<any, any, any, any>;

type ParamsSchemaOf<R> = R extends RouteContract<infer P, AnyObject, z.ZodType, z.ZodType> ? P : never;
type QuerySchemaOf<R> = R extends RouteContract<AnyObject, infer Q, z.ZodType, z.ZodType> ? Q : never;
type BodySchemaOf<R> = R extends RouteContract<AnyObject, AnyObject, infer B, z.ZodType> ? B : never;

/** A route declared without `params`/`query`/`body` has the constraint itself as its schema type. */
type IsDeclared<S, Constraint> = [Constraint] extends [S] ? false : true;

type OptionalKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];

/**
 * Query values as a caller writes them: the schema's output types (numbers for `limit`, not the
 * `unknown` of a coercing input), optional wherever the schema fills in a default or allows none.
 */
export type QueryInputOf<R> =
  QuerySchemaOf<R> extends infer Q extends z.ZodType
    ? { [K in Exclude<keyof z.output<Q>, OptionalKeys<z.input<Q>>>]: z.output<Q>[K] } & {
        [K in Extract<keyof z.output<Q>, OptionalKeys<z.input<Q>>>]?: z.output<Q>[K];
      }
    : never;

type ParamsPart<R> = IsDeclared<ParamsSchemaOf<R>, AnyObject> extends true ? { params: z.input<ParamsSchemaOf<R>> } : { params?: undefined };
type QueryPart<R> = IsDeclared<QuerySchemaOf<R>, AnyObject> extends true ? { query?: QueryInputOf<R> } : { query?: undefined };
type BodyPart<R> =
  IsDeclared<BodySchemaOf<R>, z.ZodType> extends true
    ? undefined extends z.input<BodySchemaOf<R>>
      ? { body?: z.input<BodySchemaOf<R>> }
      : { body: z.input<BodySchemaOf<R>> }
    : { body?: undefined };

/** What `call` takes for route R: `params` when the path has any, `body` when the route has a required one. */
export type CallInput<R> = ParamsPart<R> & QueryPart<R> & BodyPart<R>;

type InputArgs<R> = {} extends CallInput<R> ? [input?: CallInput<R>] : [input: CallInput<R>];

/** The API's error body (`{ error: { code, message, details } }`) as an exception. */
export class FlashlineApiError extends Error {
  override readonly name = 'FlashlineApiError';
  constructor(
    /** HTTP status; 0 when no answer came (network error, timeout). */
    readonly status: number,
    /** The contract's stable snake_case code, e.g. `job_paused`, `not_found`. */
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | undefined = undefined,
    /** operationId of the route called, for messages and logs. */
    readonly operationId: string | undefined = undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** 429 and 5xx may succeed later; so may a request that got no answer at all. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export interface RetryPolicy {
  /** Retries after the first attempt (so `retries + 1` attempts at most). */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 4, baseDelayMs: 100, maxDelayMs: 4000 };

/** One HTTP attempt, reported to `onAttempt` (latency statistics, tracing). */
export interface AttemptEvent {
  operationId: string;
  method: string;
  /** HTTP status, or 0 when no answer came. */
  status: number;
  durationMs: number;
  /** 1 for the first attempt. */
  attempt: number;
  willRetry: boolean;
}

export interface FlashlineClientOptions {
  /** The API's base URL as in the credentials file's `endpoint`, e.g. `https://api.example.com/`. */
  baseUrl: string;
  /** Bearer token; public routes (JWKS, OpenAPI) work without one. */
  token?: string;
  retry?: Partial<RetryPolicy>;
  /** Per attempt; a timeout counts as a network error. */
  timeoutMs?: number;
  /** Parse every success body with the route's zod schema (tests use it to catch contract drift). */
  validateResponses?: boolean;
  onAttempt?: (event: AttemptEvent) => void;
  /**
   * Sees every FlashlineApiError a call ends with, after its retries and just before it is
   * thrown: one place to react to a class of failures, e.g. the console signs out on a 401.
   * Observes only; the caller still gets the error.
   */
  onError?: (error: FlashlineApiError) => void;
  /** Injection points for tests. */
  fetch?: typeof fetch;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  userAgent?: string;
}

const defaultSleep = sleep;

export class FlashlineClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: FlashlineClientOptions) {
    // A base URL without its trailing slash would make `new URL('v1/…', base)` drop its last segment.
    this.baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.token = options.token;
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchImpl = options.fetch ?? ((...args) => globalThis.fetch(...args));
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? defaultSleep;
  }

  static fromCredentials(credentials: Pick<CredentialsFileType, 'endpoint' | 'token'>, options: Omit<FlashlineClientOptions, 'baseUrl' | 'token'> = {}): FlashlineClient {
    return new FlashlineClient({ ...options, baseUrl: credentials.endpoint, token: credentials.token });
  }

  /** The URL a route resolves to with these params and query (also what `call` requests). */
  urlFor<R extends AnyRoute>(route: R, input: CallInput<R> | undefined = undefined): URL {
    const params = (input?.params ?? {}) as Record<string, unknown>;
    const path = route.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
      const value = params[name];
      if (value === undefined || value === null || value === '') throw new TypeError(`${route.operationId}: missing path parameter "${name}"`);
      return encodeURIComponent(String(value));
    });
    const url = new URL(path.replace(/^\//, ''), this.baseUrl);
    for (const [key, value] of Object.entries((input?.query ?? {}) as Record<string, unknown>)) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /**
   * Calls one route. Resolves with the typed success body (undefined for 204); rejects with a
   * FlashlineApiError. Only routes the contract marks idempotent are retried, and only on
   * 429, 5xx or no answer: retrying anything else could do it twice.
   */
  async call<R extends AnyRoute>(route: R, ...[input]: InputArgs<R>): Promise<ResponseOf<R>> {
    try {
      return await this.send(route, input);
    } catch (error) {
      if (error instanceof FlashlineApiError) this.options.onError?.(error);
      throw error;
    }
  }

  private async send<R extends AnyRoute>(route: R, input: CallInput<R> | undefined): Promise<ResponseOf<R>> {
    const url = this.urlFor(route, input);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (this.options.userAgent) headers['user-agent'] = this.options.userAgent;
    const body = input?.body === undefined ? undefined : JSON.stringify(input.body);
    if (body !== undefined) headers['content-type'] = 'application/json';

    const attempts = route.idempotent ? this.retry.retries + 1 : 1;
    const retryAfter = new WeakMap<FlashlineApiError, number>();
    try {
      return await retry(
        async (attempt) => {
          const started = performance.now();
          let response: Response;
          let text: string;
          try {
            response = await this.fetchImpl(url, { method: route.method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
            text = await response.text();
          } catch (cause) {
            const timedOut = cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
            const reason = timedOut ? `no answer within ${this.timeoutMs} ms` : describeNetworkError(cause);
            const error = new FlashlineApiError(0, 'network_error', `${route.method} ${url.pathname}: ${reason}`, undefined, route.operationId, { cause });
            this.report(route, 0, performance.now() - started, attempt, attempt < attempts);
            throw error;
          }
          const durationMs = performance.now() - started;
          if (response.ok) {
            this.report(route, response.status, durationMs, attempt, false);
            // A success body that breaks the contract is no reason to send the request again.
            return this.parseSuccess(route, response.status, text);
          }
          const error = errorFromResponse(response.status, text, route.operationId);
          const requested = parseRetryAfter(response.headers.get('retry-after'));
          if (requested !== undefined) retryAfter.set(error, Math.min(requested, this.retry.maxDelayMs));
          this.report(route, error.status, durationMs, attempt, error.retryable && attempt < attempts);
          throw error;
        },
        {
          ...this.retry,
          maxAttempts: attempts,
          retryable: (error) => error instanceof FlashlineApiError && error.retryable,
          requestedDelayMs: (error) => retryAfter.get(error as FlashlineApiError),
          sleep: this.sleep,
          random: this.random,
        },
      );
    } catch (error) {
      throw error instanceof RetriesExhaustedError ? error.cause : error;
    }
  }

  /** Every item of a list route, following `nextCursor` page by page. */
  async *paginate<R extends AnyRoute>(route: R, ...[input]: InputArgs<R>): AsyncGenerator<ListItemOf<R>> {
    let cursor: string | undefined;
    for (;;) {
      const query = { ...(input?.query as object | undefined), ...(cursor ? { cursor } : {}) };
      const page = (await this.call(route, ...([{ ...input, query }] as unknown as InputArgs<R>))) as { items: ListItemOf<R>[]; nextCursor: string | null };
      yield* page.items;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }

  /**
   * Catches up with an arrival-ordered feed (logs, results, audit from `since`): reads from
   * `cursor` (else from the input's `since`) through every page that is ready, at most
   * `maxPages`, and answers the new items with the cursor to pass next time. Following a feed
   * is calling this again with that cursor: each item comes exactly once, in arrival order.
   */
  async readFeed<R extends AnyRoute>(
    route: R,
    input: CallInput<R>,
    cursor: string | undefined,
    maxPages = Number.POSITIVE_INFINITY,
  ): Promise<{ items: ListItemOf<R>[]; cursor: string | undefined; caughtUp: boolean }> {
    const items: ListItemOf<R>[] = [];
    let position = cursor;
    for (let pages = 0; pages < maxPages; pages += 1) {
      const query = { ...(input.query as object | undefined), ...(position && { cursor: position }) };
      const page = (await this.call(route, ...([{ ...input, query }] as unknown as InputArgs<R>))) as FeedPageShape<ListItemOf<R>>;
      items.push(...page.items);
      position = page.followCursor ?? page.nextCursor ?? position;
      if (!page.nextCursor) return { items, cursor: position, caughtUp: true };
    }
    return { items, cursor: position, caughtUp: false };
  }

  async listAll<R extends AnyRoute>(route: R, ...args: InputArgs<R>): Promise<ListItemOf<R>[]> {
    const items: ListItemOf<R>[] = [];
    for await (const item of this.paginate(route, ...args)) items.push(item);
    return items;
  }

  /** Full jitter (AWS's "exponential backoff and jitter"): spreads retrying clients apart. */
  backoffMs(attempt: number, retryAfterMs?: number): number {
    const jittered = backoffDelayMs(attempt, this.retry, this.random);
    return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, this.retry.maxDelayMs));
  }

  private parseSuccess<R extends AnyRoute>(route: R, status: number, text: string): ResponseOf<R> {
    if (status === 204 || text === '') return undefined as ResponseOf<R>;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new FlashlineApiError(status, 'invalid_response', `${route.operationId}: the API answered ${status} with a body that is not JSON`, undefined, route.operationId, { cause });
    }
    if (!this.options.validateResponses) return parsed as ResponseOf<R>;
    const result = (route.response as z.ZodType).safeParse(parsed);
    if (!result.success) {
      const issues = result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
      throw new FlashlineApiError(status, 'invalid_response', `${route.operationId}: the response does not match the contract`, { issues }, route.operationId);
    }
    return result.data as ResponseOf<R>;
  }

  private report(route: AnyRoute, status: number, durationMs: number, attempt: number, willRetry: boolean): void {
    this.options.onAttempt?.({ operationId: route.operationId, method: route.method, status, durationMs, attempt, willRetry });
  }
}

interface FeedPageShape<T> {
  items: T[];
  nextCursor: string | null;
  followCursor?: string;
}

export type ListItemOf<R> = ResponseOf<R> extends { items: (infer T)[] } ? T : never;

/** Turns any non-2xx answer into a FlashlineApiError, whether or not it carries the contract's body. */
export function errorFromResponse(status: number, text: string, operationId?: string): FlashlineApiError {
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const error = (body as { error?: unknown } | undefined)?.error;
  if (isErrorObject(error)) return new FlashlineApiError(status, error.code, error.message, error.details, operationId);
  // API Gateway answers a request without a token itself, as {"message":"Unauthorized"}.
  const gatewayMessage = typeof (body as { message?: unknown } | undefined)?.message === 'string' ? (body as { message: string }).message : undefined;
  const code = status === 401 ? 'unauthenticated' : status === 403 ? 'forbidden' : status === 404 ? 'not_found' : status === 429 ? 'throttled' : `http_${status}`;
  const snippet = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return new FlashlineApiError(status, code, gatewayMessage ?? (snippet || `HTTP ${status}`), undefined, operationId);
}

function isErrorObject(value: unknown): value is { code: string; message: string; details?: Record<string, unknown> } {
  if (typeof value !== 'object' || value === null) return false;
  const { code, message, details } = value as Record<string, unknown>;
  return typeof code === 'string' && typeof message === 'string' && (details === undefined || (typeof details === 'object' && details !== null));
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function describeNetworkError(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  // undici hides the useful part (ECONNREFUSED, ENOTFOUND) in `cause`.
  const inner = (cause as { cause?: { code?: string; message?: string } }).cause;
  return inner?.code ? `${cause.message} (${inner.code})` : inner?.message ? `${cause.message} (${inner.message})` : cause.message;
}
