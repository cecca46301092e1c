import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { z } from 'zod';
import { EmptyBody, Id, ListQuery, Name } from '../../shared/contract/common.js';
import { type AccountRole, defineRoute } from '../../shared/contract/route.js';
import { ConflictError, ThrottledError } from '../../shared/domain/errors.js';
import { type HttpEvent, type RouteRequest, WithStatus, createHttpHandler, implement } from '../../shared/http/handler.js';
import type { RestApiEvent } from '../../shared/http/http-event.js';
import { logger } from '../../shared/http/logger.js';
import type { AccountPrincipal, Principal, ProgrammerPrincipal } from '../../shared/http/principal.js';

/**
 * The middy chain with routes of its own: every rule of the contract that is the chain's
 * (routing, auth, body, validation, error mapping) is checked here once, for every function.
 */
const viewerRoute = defineRoute({
  operationId: 'listThings',
  method: 'GET',
  path: '/v1/things',
  summary: 'viewer',
  access: { kind: 'account', minimumRole: 'viewer' },
  query: ListQuery,
  successStatus: 200,
  response: z.unknown(),
  idempotent: true,
});
const adminRoute = defineRoute({
  operationId: 'createThing',
  method: 'POST',
  path: '/v1/things',
  summary: 'admin',
  access: { kind: 'account', minimumRole: 'admin' },
  body: z.object({ name: Name, settings: z.object({ level: z.number().int().max(10) }).strict().optional() }).strict(),
  successStatus: 201,
  response: z.unknown(),
  idempotent: false,
});
const readRoute = defineRoute({
  operationId: 'getThing',
  method: 'GET',
  path: '/v1/things/{thingId}',
  summary: 'read',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: z.object({ thingId: Id }),
  successStatus: 200,
  response: z.unknown(),
  idempotent: true,
});
const deleteRoute = defineRoute({
  operationId: 'deleteThing',
  method: 'DELETE',
  path: '/v1/things/{thingId}',
  summary: 'author',
  access: { kind: 'account', minimumRole: 'author' },
  params: z.object({ thingId: Id }),
  successStatus: 204,
  response: z.undefined(),
  idempotent: false,
});
const pauseRoute = defineRoute({
  operationId: 'pauseThing',
  method: 'POST',
  path: '/v1/things/{thingId}/pause',
  summary: 'body-less POST',
  access: { kind: 'account', minimumRole: 'author' },
  params: z.object({ thingId: Id }),
  body: EmptyBody,
  successStatus: 200,
  response: z.unknown(),
  idempotent: false,
});
const bareRoute = defineRoute({
  operationId: 'poke',
  method: 'POST',
  path: '/v1/poke',
  summary: 'POST without any body schema',
  access: { kind: 'account', minimumRole: 'viewer' },
  successStatus: 200,
  response: z.unknown(),
  idempotent: false,
});
const smallRoute = defineRoute({
  operationId: 'small',
  method: 'POST',
  path: '/v1/small',
  summary: 'small bodies, batch limit',
  access: { kind: 'account', minimumRole: 'viewer' },
  body: z.object({ lines: z.array(z.string()) }),
  maxBodyBytes: 200,
  maxBatch: { field: 'lines', max: 3 },
  successStatus: 200,
  response: z.unknown(),
  idempotent: false,
});
const publicRoute = defineRoute({
  operationId: 'publicThing',
  method: 'GET',
  path: '/v1/public.json',
  summary: 'public',
  access: { kind: 'public' },
  successStatus: 200,
  response: z.unknown(),
  idempotent: true,
});
const deviceRoute = defineRoute({
  operationId: 'deviceThing',
  method: 'GET',
  path: '/v1/device/things',
  summary: 'programmer',
  access: { kind: 'programmer' },
  successStatus: 200,
  response: z.unknown(),
  idempotent: true,
});
const failingRoute = defineRoute({
  operationId: 'fail',
  method: 'GET',
  path: '/v1/fail/{how}',
  summary: 'throws',
  access: { kind: 'public' },
  params: z.object({ how: z.string() }),
  successStatus: 200,
  response: z.unknown(),
  idempotent: true,
});

const seen: { principal?: Principal; params?: unknown; query?: unknown; body?: unknown; baseUrl?: string }[] = [];
const record = async (request: { principal?: Principal; params?: unknown; query?: unknown; body?: unknown; baseUrl?: string }) => {
  seen.push({ principal: request.principal, params: request.params, query: request.query, body: request.body, baseUrl: request.baseUrl });
  return { ok: true };
};

const handler = createHttpHandler([
  implement(viewerRoute, record as never),
  implement(adminRoute, record as never),
  implement(readRoute, record as never),
  implement(deleteRoute, async () => undefined),
  implement(pauseRoute, record as never),
  implement(bareRoute, record as never),
  implement(smallRoute, record as never),
  implement(publicRoute, async () => new WithStatus(200, { public: true })),
  implement(deviceRoute, record as never),
  implement(failingRoute, async ({ params }) => {
    if (params.how === 'conflict') throw new ConflictError('name_taken', 'taken');
    if (params.how === 'throttled') throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    throw new Error('database password is hunter2');
  }),
], { publicBaseUrl: 'https://api.example.com/' });

const account = (role: AccountRole) => ({ kind: 'account', accountId: 'acc_1', via: 'key', keyId: 'key_1', role });
const programmer = { kind: 'programmer', accountId: 'acc_1', programmerId: 'prg_1', credentialId: 'prg_1' };

interface EventOptions {
  auth?: Record<string, unknown> | null;
  body?: string;
  isBase64Encoded?: boolean;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  rawPrefix?: string;
}

function event(method: string, path: string, options: EventOptions = {}): HttpEvent {
  const auth = options.auth === undefined ? account('admin') : options.auth;
  return {
    version: '2.0',
    routeKey: 'ANY /v1/{proxy+}',
    rawPath: `${options.rawPrefix ?? ''}${path}`,
    rawQueryString: '',
    headers: { Host: 'api.example.com', ...options.headers },
    queryStringParameters: options.query,
    body: options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'req-1',
      routeKey: 'ANY /v1/{proxy+}',
      stage: '$default',
      time: '',
      timeEpoch: 0,
      ...(auth !== null && { authorizer: { lambda: auth } }),
    },
  } as HttpEvent;
}

const context = { awsRequestId: 'aws-req-1' } as Context;

async function invoke(method: string, path: string, options: EventOptions = {}) {
  const response = (await handler(event(method, path, options), context)) as APIGatewayProxyStructuredResultV2;
  return { status: response.statusCode as number, headers: response.headers ?? {}, body: response.body === undefined ? undefined : JSON.parse(response.body) };
}

describe('the HTTP handler chain', () => {
  beforeEach(() => {
    seen.length = 0;
    // Quiet, and observable: the chain logs one line per request and every unexpected error.
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    vi.spyOn(logger, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  describe('routing', () => {
    it('dispatches by method and path and hands the route its validated request', async () => {
      const response = await invoke('GET', '/v1/things', { query: { limit: '7' } });
      expect(response).toMatchObject({ status: 200, body: { ok: true } });
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(seen[0]?.query).toEqual({ limit: 7 });
      expect(seen[0]?.principal).toEqual(account('admin'));
    });

    it('extracts and decodes path parameters, with or without a trailing slash', async () => {
      expect((await invoke('GET', '/v1/things/thing_1')).status).toBe(200);
      expect((await invoke('GET', '/v1/things/thing%2D2/')).status).toBe(200);
      expect(seen.map((s) => s.params)).toEqual([{ thingId: 'thing_1' }, { thingId: 'thing-2' }]);
    });

    it('validates path parameters, naming the parameter', async () => {
      const response = await invoke('GET', '/v1/things/a%20b');
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
      expect(response.body.error.details.issues[0].path).toBe('thingId');
      expect(seen).toHaveLength(0);
    });

    it('answers a path parameter that is not valid percent-encoding with 400, not 500', async () => {
      const response = await invoke('GET', '/v1/things/%E0%A4%A');
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
      expect(response.body.error.details.issues[0].path).toBe('thingId');
    });

    it('does not let a parameter span path segments', async () => {
      expect((await invoke('GET', '/v1/things/a/b')).status).toBe(404);
    });

    it('answers an unknown path with a 404 JSON error, even without a principal', async () => {
      for (const auth of [undefined, null]) {
        const response = await invoke('GET', '/v1/nothing-here', { auth });
        expect(response.status).toBe(404);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expect(response.body.error).toMatchObject({ code: 'not_found', message: expect.any(String) });
      }
    });

    it('answers a known path with another method with a 405 JSON error whose Allow header lists the methods it has', async () => {
      const response = await invoke('PUT', '/v1/things/thing_1');
      expect(response.status).toBe(405);
      expect(response.body.error.code).toBe('method_not_allowed');
      expect(response.headers.allow).toBe('GET, DELETE');
      expect(response.body.error.details.allowed).toEqual(['GET', 'DELETE']);
    });

    it('escapes the dots of literal paths', async () => {
      expect((await invoke('GET', '/v1/public.json', { auth: null })).status).toBe(200);
      expect((await invoke('GET', '/v1/publicXjson', { auth: null })).status).toBe(404);
    });

    it('answers 204 without a body', async () => {
      const response = await invoke('DELETE', '/v1/things/thing_1');
      expect(response.status).toBe(204);
      expect(response.body).toBeUndefined();
    });
  });

  describe('authorization', () => {
    const cases: [AccountRole, 'GET' | 'POST' | 'DELETE', string, number][] = [];
    const routes: [AccountRole, 'GET' | 'POST' | 'DELETE', string, string | undefined][] = [
      ['viewer', 'GET', '/v1/things', undefined],
      ['author', 'DELETE', '/v1/things/thing_1', undefined],
      ['admin', 'POST', '/v1/things', JSON.stringify({ name: 'x' })],
    ];
    const rank = { viewer: 1, operator: 2, author: 3, admin: 4 };
    for (const caller of ['viewer', 'operator', 'author', 'admin'] as const) {
      for (const [minimum, method, path] of routes) cases.push([caller, method, path, rank[caller] >= rank[minimum] ? 200 : 403]);
    }

    it.each(cases)('lets a %s key %s %s only when its role ranks high enough (→ %i)', async (role, method, path, expected) => {
      const body = routes.find(([, m, p]) => m === method && p === path)?.[3];
      const response = await invoke(method, path, { auth: account(role), body });
      // 200, 201 or 204 by route: what matters here is allowed or not.
      expect(response.status < 300 ? 200 : response.status).toBe(expected);
      if (expected === 403) expect(response.body.error.code).toBe('forbidden');
    });

    it('refuses programmer credentials on account routes with 403, at every role level', async () => {
      for (const [method, path] of [
        ['GET', '/v1/things'],
        ['POST', '/v1/things'],
        ['DELETE', '/v1/things/thing_1'],
      ] as const) {
        const response = await invoke(method, path, { auth: programmer, body: JSON.stringify({ name: 'x' }) });
        expect(response.status).toBe(403);
        expect(response.body.error.code).toBe('forbidden');
      }
      expect(seen).toHaveLength(0);
    });

    it('lets only programmer credentials call device routes', async () => {
      expect((await invoke('GET', '/v1/device/things', { auth: programmer })).status).toBe(200);
      expect(seen[0]?.principal).toEqual(programmer);
      const response = await invoke('GET', '/v1/device/things', { auth: account('admin') });
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('forbidden');
    });

    it.each([
      ['no authorizer context at all', null],
      ['the anonymous context of the authorizer', { kind: 'anonymous' }],
      ['a context without an account', { kind: 'account', keyId: 'key_1', role: 'admin' }],
      ['a context with an unknown role', { kind: 'account', accountId: 'acc_1', keyId: 'key_1', role: 'owner' }],
      ['a programmer context without its id', { kind: 'programmer', accountId: 'acc_1', credentialId: 'prg_1' }],
    ])('answers 401 unauthenticated to a protected route called with %s', async (_what, auth) => {
      for (const path of ['/v1/things', '/v1/device/things']) {
        const response = await invoke('GET', path, { auth });
        expect(response.status).toBe(401);
        expect(response.body.error.code).toBe('unauthenticated');
      }
      expect(seen).toHaveLength(0);
    });

    it('runs public routes without a principal', async () => {
      const response = await invoke('GET', '/v1/public.json', { auth: null });
      expect(response).toMatchObject({ status: 200, body: { public: true } });
    });

    it('checks the caller before it looks at the body', async () => {
      const response = await invoke('POST', '/v1/things', { auth: account('viewer'), body: '{not json' });
      expect(response.status).toBe(403);
    });
  });

  describe('bodies', () => {
    it('answers malformed JSON with 400 invalid_request, never 415', async () => {
      for (const body of ['{"name":', 'name=x', '{"name":"x"}}']) {
        const response = await invoke('POST', '/v1/things', { body, headers: { 'Content-Type': 'application/json' } });
        expect(response.status).toBe(400);
        expect(response.body.error.code).toBe('invalid_request');
        expect(response.body.error.details.issues).toHaveLength(1);
      }
    });

    it('parses base64-encoded bodies', async () => {
      const response = await invoke('POST', '/v1/things', { body: Buffer.from('{"name":"Line 1"}').toString('base64'), isBase64Encoded: true });
      expect(response.status).toBe(201);
      expect(seen[0]?.body).toEqual({ name: 'Line 1' });
    });

    it.each([
      ['no body', undefined],
      ['an empty body', ''],
      ['a blank body', ' \n'],
      ['{}', '{}'],
    ])('accepts %s on a body-less POST', async (_what, body) => {
      for (const path of ['/v1/things/thing_1/pause', '/v1/poke']) {
        const response = await invoke('POST', path, { body });
        expect(response.status).toBe(200);
      }
      expect(seen).toHaveLength(2);
      // Nothing of a body reaches the route: at most the empty object the schema allows.
      for (const { body: received } of seen) expect(received ?? {}).toEqual({});
    });

    it.each([
      ['an object with fields', '{"force":true}'],
      ['an array', '[]'],
      ['null', 'null'],
    ])('refuses %s on a body-less POST with 400', async (_what, body) => {
      for (const path of ['/v1/things/thing_1/pause', '/v1/poke']) {
        const response = await invoke('POST', path, { body });
        expect(response.status).toBe(400);
        expect(response.body.error.code).toBe('invalid_request');
      }
    });

    it('answers a body over the default 64 KiB with 413 before parsing it', async () => {
      const response = await invoke('POST', '/v1/things', { body: `{"name":"${'x'.repeat(64 * 1024)}` });
      expect(response.status).toBe(413);
      expect(response.body.error).toMatchObject({ code: 'payload_too_large', details: { limitBytes: 65_536 } });
    });

    it('accepts a body of exactly the limit and counts bytes, not characters', async () => {
      const exactly = JSON.stringify({ lines: ['x'.repeat(200 - '{"lines":[""]}'.length)] });
      expect(Buffer.byteLength(exactly)).toBe(200);
      expect((await invoke('POST', '/v1/small', { body: exactly })).status).toBe(200);
      // 63 three-byte characters: 77 characters, 203 bytes.
      const multibyte = JSON.stringify({ lines: ['€'.repeat(63)] });
      expect(multibyte.length).toBeLessThan(200);
      const response = await invoke('POST', '/v1/small', { body: multibyte });
      expect(response.status).toBe(413);
      expect(response.body.error.details.limitBytes).toBe(200);
    });

    it('answers a batch over the route limit with 413 naming the field', async () => {
      const response = await invoke('POST', '/v1/small', { body: JSON.stringify({ lines: ['a', 'b', 'c', 'd'] }) });
      expect(response.status).toBe(413);
      expect(response.body.error).toMatchObject({ code: 'payload_too_large', details: { field: 'lines', max: 3 } });
    });
  });

  describe('validation', () => {
    it('answers schema violations with 400 and details.issues naming each field', async () => {
      const response = await invoke('POST', '/v1/things', { body: JSON.stringify({ name: '', settings: { level: 11 }, extra: 1 }) });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
      const paths = response.body.error.details.issues.map((issue: { path: string }) => issue.path);
      expect(paths).toEqual(expect.arrayContaining(['name', 'settings.level']));
      expect(response.body.error.details.issues.every((issue: { message: unknown }) => typeof issue.message === 'string')).toBe(true);
      expect(seen).toHaveLength(0);
    });

    it('names an unknown field of a strict body', async () => {
      const response = await invoke('POST', '/v1/things', { body: JSON.stringify({ name: 'ok', colour: 'red' }) });
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.body.error.details.issues)).toContain('colour');
    });

    it('prefixes query issues with query.', async () => {
      const response = await invoke('GET', '/v1/things', { query: { limit: '1000' } });
      expect(response.status).toBe(400);
      expect(response.body.error.details.issues[0].path).toBe('query.limit');
    });

    it('answers a missing body on a route that needs one with 400', async () => {
      const response = await invoke('POST', '/v1/things');
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
    });

    it('hands the route the parsed, trimmed value', async () => {
      expect((await invoke('POST', '/v1/things', { body: JSON.stringify({ name: '  Line 1 ' }) })).status).toBe(201);
      expect(seen[0]?.body).toEqual({ name: 'Line 1' });
    });
  });

  describe('errors and context', () => {
    it('maps typed errors of a route to their status and code', async () => {
      const response = await invoke('GET', '/v1/fail/conflict', { auth: null });
      expect(response).toMatchObject({ status: 409, body: { error: { code: 'name_taken' } } });
      expect(logger.error).not.toHaveBeenCalled();
    });

    it('maps throttling to 429', async () => {
      const response = await invoke('GET', '/v1/fail/throttled', { auth: null });
      expect(response.status).toBe(429);
      expect(response.body.error.code).toBe('throttled');
    });

    it('answers an unexpected error with an opaque 500 and logs the cause', async () => {
      const response = await invoke('GET', '/v1/fail/boom', { auth: null });
      expect(response.status).toBe(500);
      expect(response.body).toEqual({ error: { code: 'internal_error', message: expect.any(String) } });
      expect(JSON.stringify(response.body)).not.toContain('hunter2');
      expect(logger.error).toHaveBeenCalledTimes(1);
    });

    it('logs one line per request, errors included', async () => {
      await invoke('GET', '/v1/things');
      await invoke('GET', '/v1/nothing-here');
      expect(vi.mocked(logger.info).mock.calls.map(([, extra]) => (extra as { status: number }).status)).toEqual([200, 404]);
    });

    it('hands routes the configured public base URL, whatever Host and X-Forwarded-* the caller sends', async () => {
      const forged = { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'http' };
      await invoke('GET', '/v1/things', { headers: forged });
      const local = createHttpHandler([implement(viewerRoute, record as never)], { publicBaseUrl: 'http://127.0.0.1:4566/_aws/execute-api/flashline' });
      await local(event('GET', '/v1/things', { rawPrefix: '/_aws/execute-api/flashline', headers: forged }), context);
      expect(seen.map((s) => s.baseUrl)).toEqual(['https://api.example.com/', 'http://127.0.0.1:4566/_aws/execute-api/flashline/']);
    });

    it('fails a route that reads the base URL of a function configured without one, rather than trusting the request', async () => {
      const unconfigured = createHttpHandler([implement(viewerRoute, record as never)]);
      const response = (await unconfigured(event('GET', '/v1/things', { headers: { 'X-Forwarded-Host': 'evil.example' } }), context)) as APIGatewayProxyStructuredResultV2;
      expect(response.statusCode).toBe(500);
      expect(response.body).not.toContain('evil.example');
      expect(seen).toHaveLength(0);
    });
  });
});

describe('the rate limits in the chain', () => {
  const admitted: Principal[] = [];
  let refuse = false;
  const rateLimiter = {
    admit: async (principal: Principal) => {
      admitted.push(principal);
      if (refuse) throw new ThrottledError(3, 'Rate limit of this programmer exceeded');
    },
  };
  const limited = createHttpHandler([implement(deviceRoute, record as never), implement(publicRoute, async () => ({ public: true }))], { rateLimiter, publicBaseUrl: 'https://api.example.com/' });
  const call = async (path: string, auth: Record<string, unknown> | null) => {
    const response = (await limited(event('GET', path, { auth }), context)) as APIGatewayProxyStructuredResultV2;
    return { status: response.statusCode, headers: response.headers ?? {}, body: JSON.parse(response.body ?? 'null') };
  };

  beforeEach(() => {
    seen.length = 0;
    admitted.length = 0;
    refuse = false;
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it('counts every authenticated request against its caller before the route runs', async () => {
    expect((await call('/v1/device/things', programmer)).status).toBe(200);
    expect(admitted).toEqual([programmer]);
    expect(seen).toHaveLength(1);
  });

  it('answers 429 throttled with Retry-After and details.retryAfterSeconds, and the route never runs', async () => {
    refuse = true;
    const response = await call('/v1/device/things', programmer);
    expect(response.status).toBe(429);
    expect(response.headers['retry-after']).toBe('3');
    expect(response.body).toEqual({ error: { code: 'throttled', message: 'Rate limit of this programmer exceeded', details: { retryAfterSeconds: 3 } } });
    expect(seen).toHaveLength(0);
  });

  it('refuses the unauthenticated and the wrong audience before counting them, and never counts public routes', async () => {
    expect((await call('/v1/device/things', null)).status).toBe(401);
    expect((await call('/v1/device/things', account('admin'))).status).toBe(403);
    expect((await call('/v1/public.json', null)).status).toBe(200);
    expect(admitted).toEqual([]);
  });
});

/** A REST API (v1) Lambda proxy event: the authorizer's context flat beside API Gateway's own keys. */
function restEvent(method: string, path: string, options: EventOptions = {}): RestApiEvent {
  const auth = options.auth === undefined ? account('admin') : options.auth;
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers: { Host: 'api.example.com', ...options.headers },
    multiValueHeaders: {},
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    body: options.body ?? null,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'api',
      httpMethod: method,
      identity: {} as RestApiEvent['requestContext']['identity'],
      path: `/prod${path}`,
      protocol: 'HTTP/1.1',
      requestId: 'rest-req-1',
      requestTimeEpoch: 0,
      resourceId: 'res',
      resourcePath: '/{proxy+}',
      stage: 'prod',
      authorizer: auth === null ? null : { ...auth, principalId: 'caller', integrationLatency: 12 },
    },
  };
}

describe('the same chain behind a REST API (payload 1.0)', () => {
  const rest = async (method: string, path: string, options: EventOptions = {}) => {
    const response = await handler(restEvent(method, path, options), context);
    return { status: response.statusCode as number, headers: response.headers ?? {}, body: response.body === undefined ? undefined : JSON.parse(response.body) };
  };

  beforeEach(() => {
    seen.length = 0;
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    vi.spyOn(logger, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it('routes by httpMethod and the stage-less path, with query, params and the flat authorizer context', async () => {
    expect((await rest('GET', '/v1/things', { query: { limit: '7' } })).status).toBe(200);
    expect((await rest('GET', '/v1/things/thing%2D2')).status).toBe(200);
    expect(seen.map((s) => [s.query, s.params])).toEqual([
      [{ limit: 7 }, {}],
      [{}, { thingId: 'thing-2' }],
    ]);
    // API Gateway's own keys (principalId, integrationLatency) never reach the route.
    expect(seen[0]?.principal).toEqual(account('admin'));
  });

  it('parses plain and base64 bodies and validates them like the HTTP API', async () => {
    expect((await rest('POST', '/v1/things', { body: Buffer.from('{"name":" Line 1 "}').toString('base64'), isBase64Encoded: true })).status).toBe(201);
    expect(seen[0]?.body).toEqual({ name: 'Line 1' });
    const invalid = await rest('POST', '/v1/things', { body: JSON.stringify({ name: '' }) });
    expect(invalid).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect(invalid.body.error.details.issues.map((issue: { path: string }) => issue.path)).toContain('name');
  });

  it('answers the same refusals: 401 without a context, 403 for the wrong audience or role, 404, 405', async () => {
    expect((await rest('GET', '/v1/things', { auth: null })).body.error.code).toBe('unauthenticated');
    expect((await rest('GET', '/v1/device/things', { auth: account('admin') })).body.error.code).toBe('forbidden');
    expect((await rest('POST', '/v1/things', { auth: account('viewer'), body: '{}' })).status).toBe(403);
    expect((await rest('GET', '/v1/nothing-here', { auth: null })).status).toBe(404);
    const wrongMethod = await rest('PUT', '/v1/things/thing_1');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET, DELETE');
    expect(seen).toHaveLength(0);
  });

  it('runs public routes without an authorizer context and answers 204 without a body', async () => {
    expect(await rest('GET', '/v1/public.json', { auth: null })).toMatchObject({ status: 200, body: { public: true } });
    expect(await rest('DELETE', '/v1/things/thing_1')).toMatchObject({ status: 204, body: undefined });
  });
});

describe('CORS on the answers (the REST flavour, whose Lambda proxy answers carry only what the function sets)', () => {
  const consoleOrigin = 'https://console.example.com';
  const corsHandler = createHttpHandler(
    [
      implement(viewerRoute, async () => ({ ok: true })),
      implement(failingRoute, async () => {
        throw new ThrottledError(3, 'slow down');
      }),
    ],
    { corsOrigins: [consoleOrigin, 'http://127.0.0.1:4580'] },
  );
  const rest = async (method: string, path: string, headers: Record<string, string>, chain = corsHandler) => {
    const response = await chain(restEvent(method, path, { headers }), context);
    return { status: response.statusCode as number, headers: response.headers ?? {} };
  };

  beforeEach(() => {
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    vi.spyOn(logger, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it('lets an allowed origin read answers and refusals alike, whatever the case of the header name', async () => {
    const ok = await rest('GET', '/v1/things', { Origin: consoleOrigin });
    expect(ok).toMatchObject({ status: 200, headers: { 'access-control-allow-origin': consoleOrigin, vary: 'Origin' } });
    // A refusal made by the error mapping, with the headers a page needs to act on it.
    const throttled = await rest('GET', '/v1/fail/throttled', { origin: 'http://127.0.0.1:4580' });
    expect(throttled).toMatchObject({ status: 429, headers: { 'access-control-allow-origin': 'http://127.0.0.1:4580', 'retry-after': '3' } });
    expect(throttled.headers['access-control-expose-headers']).toContain('Retry-After');
    const notFound = await rest('GET', '/v1/nothing-here', { origin: consoleOrigin });
    expect(notFound).toMatchObject({ status: 404, headers: { 'access-control-allow-origin': consoleOrigin } });
  });

  it('names no other origin, and says the answer varies by origin', async () => {
    const other = await rest('GET', '/v1/things', { origin: 'https://evil.example.com' });
    expect(other.status).toBe(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers.vary).toBe('Origin');
    expect((await rest('GET', '/v1/things', {})).headers['access-control-allow-origin']).toBeUndefined();
  });

  it('adds nothing without allowed origins (the HTTP flavour: its CORS configuration sets the headers)', async () => {
    const plain = await rest('GET', '/v1/things', { origin: consoleOrigin }, createHttpHandler([implement(viewerRoute, async () => ({ ok: true }))], { corsOrigins: [] }));
    expect(plain.status).toBe(200);
    expect(plain.headers).not.toHaveProperty('vary');
    expect(plain.headers).not.toHaveProperty('access-control-allow-origin');
  });
});

describe('the principal a route receives', () => {
  it('is typed by the route access kind, so routes need no cast', () => {
    expectTypeOf<RouteRequest<typeof deviceRoute>['principal']>().toEqualTypeOf<ProgrammerPrincipal>();
    expectTypeOf<RouteRequest<typeof adminRoute>['principal']>().toEqualTypeOf<AccountPrincipal>();
    expectTypeOf<RouteRequest<typeof publicRoute>['principal']>().toEqualTypeOf<undefined>();
    // And at run time it is exactly what the chain checked.
    implement(deviceRoute, async ({ principal }) => principal.programmerId);
    implement(viewerRoute, async ({ principal }) => principal.role);
  });
});
