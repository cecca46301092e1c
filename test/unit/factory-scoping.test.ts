import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { EmptyBody, Id } from '../../shared/contract/common.js';
import { allRoutes } from '../../shared/contract/index.js';
import { ACCOUNT_WIDE_PARAMS, FACTORY_PARAMS, type RouteContract, defineRoute } from '../../shared/contract/route.js';
import { type HttpEvent, createHttpHandler, implement } from '../../shared/http/handler.js';
import { factoryScoping } from '../../shared/http/factory-scoping.js';
import { logger } from '../../shared/http/logger.js';
import { type AccountPrincipal, principalToContext } from '../../shared/http/principal.js';

/**
 * Per-factory scoping in the handler chain: the one place that answers 404 for an object in a
 * factory outside a principal's `factoryIds`, checked here with routes of its own and a resolver
 * that says where each object lives (the store's is a GetItem, tested on the emulator by e2e).
 */
const WHERE: Record<string, string> = { job_a: 'fac_a', job_b: 'fac_b', prg_b: 'fac_b', img_a: 'fac_a' };
const resolver = { factoryOf: vi.fn(async (_account: string, _param: string, id: string) => WHERE[id]) };
const reached: string[] = [];

const route = (operationId: string, method: 'GET' | 'POST', path: `/v1/${string}`, params: z.ZodObject | undefined, extra: Record<string, unknown> = {}) =>
  implement(
    defineRoute({ operationId, method, path, summary: operationId, access: { kind: 'account', minimumRole: 'viewer' }, params, successStatus: 200, response: z.unknown(), idempotent: true, ...extra }) as RouteContract,
    async () => {
      reached.push(operationId);
      return { ok: true };
    },
  );

const handler = createHttpHandler(
  [
    route('getJob', 'GET', '/v1/jobs/{jobId}', z.object({ jobId: Id })),
    route('getProgrammer', 'GET', '/v1/programmers/{programmerId}', z.object({ programmerId: Id })),
    route('getFactory', 'GET', '/v1/factories/{factoryId}', z.object({ factoryId: Id })),
    route('getPool', 'GET', '/v1/serial-pools/{serialPoolId}', z.object({ serialPoolId: Id })),
    route('getGadget', 'GET', '/v1/gadgets/{gadgetId}', z.object({ gadgetId: Id })),
    route('listJobs', 'GET', '/v1/jobs', undefined, { query: z.object({ factoryId: Id.optional() }) }),
    route('register', 'POST', '/v1/images', undefined, { body: z.object({ factoryId: Id, name: z.string() }) }),
    route('createPool', 'POST', '/v1/serial-pools', undefined, { body: EmptyBody, access: { kind: 'account', minimumRole: 'viewer', accountWideWrite: true } }),
  ],
  { factoryScoping: factoryScoping(resolver) },
);

const scoped: AccountPrincipal = { kind: 'account', accountId: 'acc_1', role: 'author', via: 'key', keyId: 'key_1', factoryIds: ['fac_a'] };
const everywhere: AccountPrincipal = { kind: 'account', accountId: 'acc_1', role: 'author', via: 'key', keyId: 'key_2' };

async function invoke(principal: AccountPrincipal, method: string, path: string, options: { query?: Record<string, string>; body?: unknown } = {}) {
  const event = {
    version: '2.0',
    routeKey: 'ANY /v1/{proxy+}',
    rawPath: path,
    rawQueryString: '',
    headers: {},
    queryStringParameters: options.query,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: { http: { method, path }, requestId: 'req-1', authorizer: { lambda: principalToContext(principal) } },
  } as unknown as HttpEvent;
  const response = (await handler(event, { awsRequestId: 'r' } as Context)) as APIGatewayProxyStructuredResultV2;
  return { status: response.statusCode, body: JSON.parse(response.body ?? 'null') };
}

describe('factory scoping in the handler chain', () => {
  beforeEach(() => {
    reached.length = 0;
    resolver.factoryOf.mockClear();
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
  });

  it('lets a principal reach objects of its factories', async () => {
    expect((await invoke(scoped, 'GET', '/v1/jobs/job_a')).status).toBe(200);
    expect((await invoke(scoped, 'GET', '/v1/factories/fac_a')).status).toBe(200);
    expect(reached).toEqual(['getJob', 'getFactory']);
  });

  it('answers 404 for objects of other factories, with the words another account gets, before the route runs', async () => {
    for (const path of ['/v1/jobs/job_b', '/v1/programmers/prg_b', '/v1/factories/fac_b', '/v1/jobs/job_missing']) {
      const response = await invoke(scoped, 'GET', path);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('not_found');
    }
    expect((await invoke(scoped, 'GET', '/v1/jobs/job_b')).body.error.message).toBe('Job not found');
    expect(reached).toEqual([]);
  });

  it('checks a factoryId named in the query or the body', async () => {
    expect((await invoke(scoped, 'GET', '/v1/jobs', { query: { factoryId: 'fac_b' } })).status).toBe(404);
    expect((await invoke(scoped, 'POST', '/v1/images', { body: { factoryId: 'fac_b', name: 'x' } })).status).toBe(404);
    expect((await invoke(scoped, 'POST', '/v1/images', { body: { factoryId: 'fac_a', name: 'x' } })).status).toBe(200);
    expect(reached).toEqual(['register']);
  });

  it('lets account-wide objects through and refuses parameters nobody classified (fails closed)', async () => {
    expect((await invoke(scoped, 'GET', '/v1/serial-pools/pool_1')).status).toBe(200);
    expect((await invoke(scoped, 'GET', '/v1/gadgets/gdg_1')).status).toBe(404);
    expect((await invoke(everywhere, 'GET', '/v1/gadgets/gdg_1')).status).toBe(200);
  });

  it('refuses changes to what every factory shares to a principal limited to factories (403)', async () => {
    const response = await invoke(scoped, 'POST', '/v1/serial-pools');
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden');
    expect((await invoke(everywhere, 'POST', '/v1/serial-pools')).status).toBe(200);
  });

  it('reads nothing for a principal of every factory', async () => {
    expect((await invoke(everywhere, 'GET', '/v1/jobs/job_b')).status).toBe(200);
    expect(resolver.factoryOf).not.toHaveBeenCalled();
  });
});

describe('a function without factory scoping', () => {
  it('refuses principals limited to factories outright (fails closed), and serves the others', async () => {
    const unscoped = createHttpHandler([route('getJob', 'GET', '/v1/jobs/{jobId}', z.object({ jobId: Id }))]);
    const ask = async (principal: AccountPrincipal) => {
      const event = { version: '2.0', rawPath: '/v1/jobs/job_a', headers: {}, isBase64Encoded: false, requestContext: { http: { method: 'GET', path: '/v1/jobs/job_a' }, requestId: 'r', authorizer: { lambda: principalToContext(principal) } } };
      return ((await unscoped(event as unknown as HttpEvent, { awsRequestId: 'r' } as Context)) as APIGatewayProxyStructuredResultV2).statusCode;
    };
    expect(await ask(scoped)).toBe(403);
    expect(await ask(everywhere)).toBe(200);
  });
});

describe('the contract classifies every path parameter', () => {
  it('names each parameter of every route either a factory object or an account-wide one', () => {
    const known = new Set<string>([...FACTORY_PARAMS, ...ACCOUNT_WIDE_PARAMS]);
    const unclassified = allRoutes.flatMap((r) => [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).filter((name) => !known.has(name)).map((name) => `${r.operationId}: {${name}}`));
    expect(unclassified).toEqual([]);
  });
});
