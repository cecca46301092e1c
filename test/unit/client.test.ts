import { describe, expect, it, vi } from 'vitest';
import { FlashlineApiError, FlashlineClient, errorFromResponse, parseRetryAfter } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';

type Answer = Response | Error;

/** A fetch that answers from a script and records what it was asked. */
function scriptedFetch(answers: Answer[]) {
  const requests: { url: string; method: string; headers: Record<string, string>; body: string | undefined }[] = [];
  const fetch = vi.fn(async (url: URL | RequestInfo, init?: RequestInit) => {
    requests.push({ url: String(url), method: init?.method ?? 'GET', headers: { ...(init?.headers as Record<string, string>) }, body: init?.body as string | undefined });
    const answer = answers.shift();
    if (!answer) throw new Error('no scripted answer left');
    if (answer instanceof Error) throw answer;
    return answer;
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, requests };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const apiError = (status: number, code: string, message = 'nope', details?: Record<string, unknown>) => json(status, { error: { code, message, details } });
const networkError = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });

const account = { accountId: 'acc_1', name: 'Acme', defaultFactoryId: 'fac_1', createdAt: '2026-01-01T00:00:00.000Z' };

function client(answers: Answer[], options: Partial<ConstructorParameters<typeof FlashlineClient>[0]> = {}) {
  const scripted = scriptedFetch(answers);
  const sleeps: number[] = [];
  const instance = new FlashlineClient({
    baseUrl: 'http://127.0.0.1:4566/_aws/execute-api/flashline/',
    token: 'secret-token',
    fetch: scripted.fetch,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { client: instance, requests: scripted.requests, sleeps };
}

describe('FlashlineClient requests', () => {
  it('builds the URL under the base path, with the bearer token, and returns the typed body', async () => {
    const { client: api, requests } = client([json(200, { account })]);
    const body = await api.call(contract.getAccount);
    expect(body.account.name).toBe('Acme');
    expect(requests).toEqual([
      { url: 'http://127.0.0.1:4566/_aws/execute-api/flashline/v1/account', method: 'GET', headers: expect.objectContaining({ authorization: 'Bearer secret-token' }), body: undefined },
    ]);
  });

  it('keeps the last base path segment when the endpoint lacks its trailing slash', async () => {
    const { client: api, requests } = client([json(200, { account })], { baseUrl: 'https://api.example.com/prod' });
    await api.call(contract.getAccount);
    expect(requests[0]?.url).toBe('https://api.example.com/prod/v1/account');
  });

  it('fills path parameters (encoded), drops undefined query values and sends JSON bodies', async () => {
    const { client: api, requests } = client([json(200, { items: [], nextCursor: null }), json(200, { factory: {} })]);
    await api.call(contract.listJobResults, { params: { jobId: 'job/1 x' }, query: { limit: 10, since: undefined } });
    await api.call(contract.renameFactory, { params: { factoryId: 'fac_1' }, body: { name: 'East Coast Factory' } });
    expect(requests[0]?.url).toBe('http://127.0.0.1:4566/_aws/execute-api/flashline/v1/jobs/job%2F1%20x/results?limit=10');
    expect(requests[1]).toMatchObject({ method: 'PATCH', body: '{"name":"East Coast Factory"}', headers: expect.objectContaining({ 'content-type': 'application/json' }) });
  });

  it('sends no body (and no content type) for a bodyless POST, and resolves a 204 with undefined', async () => {
    const { client: api, requests } = client([json(200, { job: {} }), json(204, undefined)]);
    await api.call(contract.pauseJob, { params: { jobId: 'job_1' } });
    await expect(api.call(contract.deleteFactory, { params: { factoryId: 'fac_1' } })).resolves.toBeUndefined();
    expect(requests[0]?.body).toBeUndefined();
    expect(requests[0]?.headers['content-type']).toBeUndefined();
  });

  it('follows nextCursor through every page', async () => {
    const { client: api, requests } = client([
      json(200, { items: [{ factoryId: 'a' }], nextCursor: 'c1' }),
      json(200, { items: [{ factoryId: 'b' }], nextCursor: null }),
    ]);
    const items = await api.listAll(contract.listFactories, { query: { limit: 1 } });
    expect(items.map((item) => item.factoryId)).toEqual(['a', 'b']);
    expect(requests.map((r) => new URL(r.url).search)).toEqual(['?limit=1', '?limit=1&cursor=c1']);
  });

  it('validates responses against the contract when asked to', async () => {
    const { client: api } = client([json(200, { account: { ...account, defaultFactoryId: 42 }, caller: { via: 'key', keyId: 'key_1', role: 'admin' } })], { validateResponses: true });
    const error = await api.call(contract.getAccount).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlashlineApiError);
    expect(error).toMatchObject({ code: 'invalid_response', details: { issues: [expect.objectContaining({ path: 'account.defaultFactoryId' })] } });
  });
});

describe('FlashlineClient errors', () => {
  it('turns the contract error body into a FlashlineApiError with status, code, message and details', async () => {
    const { client: api } = client([apiError(409, 'job_completed', 'The job has no units left', { remaining: 0 })]);
    const error = (await api.call(contract.authorizeProgramming, { body: { jobId: 'job_1', units: 1, nonce: 'nonce-0001' } }).catch((e: unknown) => e)) as FlashlineApiError;
    expect(error).toBeInstanceOf(FlashlineApiError);
    expect(error).toMatchObject({ status: 409, code: 'job_completed', message: 'The job has no units left', details: { remaining: 0 }, operationId: 'authorizeProgramming' });
  });

  it("maps API Gateway's own 401 and bodies that are not the contract's", () => {
    expect(errorFromResponse(401, '{"message":"Unauthorized"}')).toMatchObject({ status: 401, code: 'unauthenticated', message: 'Unauthorized' });
    expect(errorFromResponse(502, '<html>Bad Gateway</html>')).toMatchObject({ status: 502, code: 'http_502', message: '<html>Bad Gateway</html>' });
    expect(errorFromResponse(404, '')).toMatchObject({ code: 'not_found', message: 'HTTP 404' });
    expect(errorFromResponse(400, '{"error":{"code":7}}')).toMatchObject({ code: 'http_400' });
  });

  it('reports a network error as status 0, code network_error, naming the cause', async () => {
    const { client: api } = client([networkError()], { retry: { retries: 0 } });
    await expect(api.call(contract.getAccount)).rejects.toMatchObject({ status: 0, code: 'network_error', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('hands each error a call ends with to onError once, after the retries, and still throws it', async () => {
    const seen: FlashlineApiError[] = [];
    const { client: api, requests } = client([apiError(503, 'unavailable'), apiError(401, 'unauthenticated'), json(200, 'not the contract')], {
      validateResponses: true,
      onError: (error) => seen.push(error),
    });
    await expect(api.call(contract.getAccount)).rejects.toMatchObject({ status: 401 });
    await expect(api.call(contract.getAccount)).rejects.toMatchObject({ code: 'invalid_response' });
    expect(requests).toHaveLength(3);
    expect(seen.map((error) => [error.status, error.code])).toEqual([
      [401, 'unauthenticated'],
      [200, 'invalid_response'],
    ]);
    const { client: healthy } = client([json(200, { account })], { onError: (error) => seen.push(error) });
    await healthy.call(contract.getAccount);
    expect(seen).toHaveLength(2);
  });

  it('throws on a missing path parameter instead of calling a wrong URL', () => {
    const { client: api } = client([]);
    expect(() => api.urlFor(contract.getJob, { params: { jobId: '' } })).toThrow(/jobId/);
  });
});

describe('FlashlineClient retries', () => {
  it('retries an idempotent route on 429, 5xx and network errors, then succeeds', async () => {
    const { client: api, requests, sleeps } = client([apiError(429, 'throttled'), apiError(503, 'unavailable'), networkError(), json(200, { account })]);
    const body = await api.call(contract.getAccount);
    expect(body.account.accountId).toBe('acc_1');
    expect(requests).toHaveLength(4);
    // Full jitter with random() = 0.5: half of 100, 200, 400 ms.
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('retries an idempotent POST (authorization by nonce) with the very same body', async () => {
    const { client: api, requests } = client([apiError(500, 'internal'), json(201, { authorizationId: 'a' })]);
    await api.call(contract.authorizeProgramming, { body: { jobId: 'job_1', units: 2, nonce: 'nonce-0001' } });
    expect(requests).toHaveLength(2);
    expect(requests[1]?.body).toBe(requests[0]?.body);
  });

  it('never retries a route that is not idempotent, even on 5xx or a network error', async () => {
    for (const failure of [apiError(503, 'unavailable'), networkError(), apiError(429, 'throttled')]) {
      const { client: api, requests, sleeps } = client([failure, json(201, { factory: {} })]);
      await expect(api.call(contract.createFactory, { body: { name: 'East' } })).rejects.toBeInstanceOf(FlashlineApiError);
      expect(requests).toHaveLength(1);
      expect(sleeps).toEqual([]);
    }
  });

  it('does not retry 4xx answers other than 429', async () => {
    for (const failure of [apiError(400, 'invalid_request'), apiError(404, 'not_found'), apiError(409, 'job_paused'), apiError(401, 'unauthenticated')]) {
      const { client: api, requests } = client([failure, json(200, { account })]);
      await expect(api.call(contract.getAccount)).rejects.toBeInstanceOf(FlashlineApiError);
      expect(requests).toHaveLength(1);
    }
  });

  it('gives up after the configured retries and throws the last error', async () => {
    const { client: api, requests } = client([apiError(503, 'a'), apiError(503, 'b'), apiError(503, 'c')], { retry: { retries: 2 } });
    await expect(api.call(contract.getAccount)).rejects.toMatchObject({ status: 503, code: 'c' });
    expect(requests).toHaveLength(3);
  });

  it('caps the backoff, honours Retry-After, and reports every attempt', async () => {
    const attempts: { status: number; attempt: number; willRetry: boolean }[] = [];
    const { client: api, sleeps } = client([apiError(429, 'throttled', 'slow down'), json(200, { account })].map((r, i) => (i === 0 ? withHeader(r as Response, 'retry-after', '2') : r)), {
      retry: { maxDelayMs: 5000 },
      onAttempt: ({ status, attempt, willRetry }) => attempts.push({ status, attempt, willRetry }),
    });
    await api.call(contract.getAccount);
    expect(sleeps).toEqual([2000]);
    expect(attempts).toEqual([
      { status: 429, attempt: 1, willRetry: true },
      { status: 200, attempt: 2, willRetry: false },
    ]);
    const capped = new FlashlineClient({ baseUrl: 'http://x/', random: () => 1, retry: { baseDelayMs: 100, maxDelayMs: 1000 } });
    expect([1, 2, 3, 4, 5, 6].map((attempt) => capped.backoffMs(attempt))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

function withHeader(response: Response, name: string, value: string): Response {
  const headers = new Headers(response.headers);
  headers.set(name, value);
  return new Response(response.body, { status: response.status, headers });
}

describe('FlashlineClient.readFeed', () => {
  const line = (sequence: string) => ({ at: '2026-01-01T00:00:00.000Z', level: 'info', message: sequence, programmerId: 'prg_1', authorizationId: null, receivedAt: '2026-01-01T00:00:00.000Z', sequence });

  it('reads every ready page, then follows from the followCursor the API handed out last', async () => {
    const { client: api, requests } = client([
      json(200, { items: [line('a'), line('b')], nextCursor: 'c1', followCursor: 'c1' }),
      json(200, { items: [line('c')], nextCursor: null, followCursor: 'h1' }),
      json(200, { items: [], nextCursor: null, followCursor: 'h2' }),
    ]);
    const first = await api.readFeed(contract.listJobLogs, { params: { jobId: 'job_1' }, query: { limit: 2 } }, undefined);
    expect(first.items.map((item) => item.sequence)).toEqual(['a', 'b', 'c']);
    expect(first).toMatchObject({ cursor: 'h1', caughtUp: true });
    const second = await api.readFeed(contract.listJobLogs, { params: { jobId: 'job_1' }, query: { limit: 2 } }, first.cursor);
    expect(second).toMatchObject({ items: [], cursor: 'h2' });
    expect(requests.map((r) => new URL(r.url).searchParams.get('cursor'))).toEqual([null, 'c1', 'h1']);
  });

  it('stops after maxPages and says it has not caught up', async () => {
    const { client: api } = client([json(200, { items: [line('a')], nextCursor: 'c1', followCursor: 'c1' })]);
    const read = await api.readFeed(contract.listJobLogs, { params: { jobId: 'job_1' }, query: { limit: 1 } }, undefined, 1);
    expect(read).toMatchObject({ cursor: 'c1', caughtUp: false });
  });
});
