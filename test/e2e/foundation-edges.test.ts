import { createPublicKey, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { allRoutes } from '../../shared/contract/index.js';
import { type ApiResponse, call, createAccount, uniqueName } from '../support/api.js';
import { api } from '../support/checked-call.js';

/** The edges of the HTTP contract on the deployed stack: bad input, unknown routes, no token, public documents. */
describe('the HTTP contract at its edges', () => {
  let admin: string;
  let defaultFactoryId: string;
  let programmerId: string;
  let programmerToken: string;

  const issuesOf = (body: { error: { details?: { issues?: { path: string; message: string }[] } } }) => body.error.details?.issues ?? [];

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('Edges'))).token;
    defaultFactoryId = (await api('GET', 'v1/account', { token: admin })).body.account.defaultFactoryId;
    const provisioned = (await api('POST', 'v1/programmers', { token: admin, body: { name: 'edge', hardwareSerial: randomUUID() } })).body;
    programmerId = provisioned.programmer.programmerId;
    programmerToken = provisioned.credentials.token;
  });

  it.each([
    ['an empty factory name', 'POST', 'v1/factories', { name: '' }, 'name'],
    ['a factory name of the wrong type', 'POST', 'v1/factories', { name: 42 }, 'name'],
    ['a missing factory name', 'POST', 'v1/factories', {}, 'name'],
    ['an unknown role', 'POST', 'v1/api-keys', { name: 'k', role: 'owner' }, 'role'],
    ['a missing hardware serial', 'POST', 'v1/programmers', { name: 'p' }, 'hardwareSerial'],
    ['an empty encryption key id', 'POST', 'v1/programmers', { name: 'p', hardwareSerial: 's', encryptionKeyIds: ['ok', ''] }, 'encryptionKeyIds.1'],
    ['an unknown programmer status', 'PATCH', 'v1/programmers/{programmerId}', { status: 'retired' }, 'status'],
    ['a malformed factory id in the body', 'PATCH', 'v1/programmers/{programmerId}', { factoryId: 'not an id!' }, 'factoryId'],
    ['a bad SHA-256', 'POST', 'v1/images', { name: 'i', factoryId: '{defaultFactoryId}', contentSha256: 'XYZ', sizeBytes: 1, delivery: 'direct' }, 'contentSha256'],
  ])('answers %s with 400 invalid_request naming the field', async (_what, method, route, body, field) => {
    const target = route.replace('{programmerId}', programmerId);
    const payload = JSON.parse(JSON.stringify(body).replace('{defaultFactoryId}', defaultFactoryId));
    const response = await api(method, target, { token: admin, body: payload });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(issuesOf(response.body).map((issue) => issue.path)).toContain(field);
    for (const issue of issuesOf(response.body)) expect(issue.message).toEqual(expect.any(String));
  });

  it('names an unknown field, an empty update and a bad query parameter', async () => {
    const unknown = await api('POST', 'v1/factories', { token: admin, body: { name: 'x', colour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(issuesOf(unknown.body))).toContain('colour');
    const empty = await api('PATCH', `v1/programmers/${programmerId}`, { token: admin, body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('invalid_request');
    for (const limit of ['0', '101', 'many']) {
      const query = await api('GET', `v1/factories?limit=${limit}`, { token: admin });
      expect(query.status).toBe(400);
      expect(issuesOf(query.body).map((issue) => issue.path)).toEqual(['query.limit']);
    }
    const cursor = await api('GET', `v1/factories?cursor=${Buffer.from('KEY#x').toString('base64url')}`, { token: admin });
    expect(cursor.status).toBe(400);
    expect(issuesOf(cursor.body).map((issue) => issue.path)).toEqual(['query.cursor']);
  });

  it('answers a malformed path id with 400 naming the parameter, also when its escapes are broken', async () => {
    for (const id of ['not%20an%20id', '%E0%A4%A']) {
      const response = await api('GET', `v1/factories/${id}`, { token: admin });
      expect(response.status, id).toBe(400);
      expect(issuesOf(response.body).map((issue) => issue.path)).toEqual(['factoryId']);
    }
  });

  it('answers malformed JSON with 400 invalid_request, whatever the content type says', async () => {
    for (const [rawBody, contentType] of [
      ['{"name":', 'application/json'],
      ['{"name": "x"}}', 'application/json'],
      ["{'name': 'x'}", 'application/json'],
      ['name=x', 'application/x-www-form-urlencoded'],
    ]) {
      const response = await api('POST', 'v1/factories', { token: admin, rawBody, headers: { 'content-type': contentType as string } });
      expect(response.status, rawBody).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
    }
  });

  it('accepts an empty body or {} on a body-less POST, and refuses anything else there', async () => {
    const registered = await api('POST', 'v1/images', {
      token: admin,
      body: { name: uniqueName('Edge image'), factoryId: defaultFactoryId, contentSha256: 'e'.repeat(64), sizeBytes: 1, delivery: 'direct' },
    });
    const jobId = registered.body.job.jobId;
    expect((await api('POST', `v1/jobs/${jobId}/pause`, { token: admin })).status).toBe(200);
    expect((await api('POST', `v1/jobs/${jobId}/resume`, { token: admin, rawBody: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(200);
    const extra = await api('POST', `v1/jobs/${jobId}/pause`, { token: admin, body: { force: true } });
    expect(extra.status).toBe(400);
    expect(extra.body.error.code).toBe('invalid_request');
  });

  it('answers a body over 64 KiB with 413 payload_too_large', async () => {
    const name = 'x'.repeat(65 * 1024);
    for (const [method, route] of [
      ['POST', 'v1/factories'],
      ['PATCH', `v1/programmers/${programmerId}`],
    ]) {
      const response = await api(method as string, route as string, { token: admin, body: { name } });
      expect(response.status, route).toBe(413);
      expect(response.body.error.code).toBe('payload_too_large');
    }
    // A body just under the limit is read (and then validated).
    const under = await api('POST', 'v1/factories', { token: admin, body: { name: 'x'.repeat(63 * 1024) } });
    expect(under.status).toBe(400);
    expect(issuesOf(under.body).map((issue) => issue.path)).toEqual(['name']);
  });

  it('answers unknown routes with a 404 JSON error, and a wrong method with 405', async () => {
    for (const [method, route] of [
      ['GET', 'v1/nothing-here'],
      ['GET', 'v1/factories/fac_1/extra'],
      ['POST', 'v1/device'],
      ['GET', 'v2/account'],
      ['GET', 'nowhere'],
    ]) {
      const response = await api(method as string, route as string, { token: admin });
      expect(response.status, route).toBe(404);
      expect(response.body.error.code).toBe('not_found');
    }
    const outside = await api('GET', 'nowhere');
    expect(outside.status).toBe(404);
    expect(outside.body.error.code).toBe('not_found');
    const wrongMethod = await api('PUT', 'v1/account', { token: admin, body: {} });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.error.code).toBe('method_not_allowed');
  });

  it('answers a method no route of a path declares with 405 and an Allow header naming the ones it does, on every path of the contract', async () => {
    const declared = new Map<string, string[]>();
    for (const route of allRoutes) declared.set(route.path, [...(declared.get(route.path) ?? []), route.method]);
    for (const [path, methods] of declared) {
      // PUT: no route of the contract uses it. Device paths take a programmer's token (also the
      // one served by its own function, /v1/device/certificates), the others an account key.
      const token = path.startsWith('/v1/device/') ? programmerToken : admin;
      const response = await api('PUT', path.slice(1).replace(/\{\w+\}/g, 'some_id'), { token, body: {} });
      expect(response.status, path).toBe(405);
      expect(response.body.error.code, path).toBe('method_not_allowed');
      expect(response.headers.get('allow')?.split(/,\s*/).sort(), path).toEqual([...methods].sort());
    }
  });

  it('answers 401 to a request without Authorization, and 401 unauthenticated to an unknown or malformed token', async () => {
    for (const [method, route] of [
      ['GET', 'v1/account'],
      ['POST', 'v1/factories'],
      ['GET', 'v1/device/jobs'],
    ]) {
      const response = await api(method as string, route as string, { body: method === 'POST' ? { name: 'x' } : undefined });
      expect(response.status, route).toBe(401);
    }
    const unknownSecret = `flk.${'a'.repeat(20)}.key_${'b'.repeat(20)}.${'c'.repeat(43)}`;
    for (const header of [`Bearer ${unknownSecret}`, 'Bearer not-a-token', 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const response = await api('GET', 'v1/account', { headers: { authorization: header } });
      expect(response.status, header).toBe(401);
      if (response.body?.error) expect(response.body.error.code).toBe('unauthenticated');
    }
    // The right ids with a wrong secret are no better.
    const [prefix, accountId, keyId] = admin.split('.');
    const forged = await api('GET', 'v1/account', { token: `${prefix}.${accountId}.${keyId}.${'A'.repeat(43)}` });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('unauthenticated');
  });

  it('pages through lists with limit and cursor, each item once', async () => {
    const factoryId = (await api('POST', 'v1/factories', { token: admin, body: { name: uniqueName('Paged') } })).body.factory.factoryId;
    await Promise.all(
      ['p1', 'p2', 'p3'].map((name) => api('POST', 'v1/programmers', { token: admin, body: { name, hardwareSerial: randomUUID(), factoryId } })),
    );
    type Page = { items: Record<string, string>[]; nextCursor: string | null };
    const collect = async (route: string, field: string): Promise<string[]> => {
      const seen: string[] = [];
      const separator = route.includes('?') ? '&' : '?';
      let next = `${route}${separator}limit=1`;
      for (let page = 0; page < 20; page += 1) {
        const response: ApiResponse<Page> = await api<Page>('GET', next, { token: admin });
        expect(response.status).toBe(200);
        expect(response.body.items.length).toBeLessThanOrEqual(1);
        seen.push(...response.body.items.map((item) => item[field] as string));
        if (response.body.nextCursor === null) return seen;
        next = `${route}${separator}limit=1&cursor=${encodeURIComponent(response.body.nextCursor)}`;
      }
      throw new Error(`${route} never ended`);
    };
    const factories = await collect('v1/factories', 'factoryId');
    expect(factories.sort()).toEqual([defaultFactoryId, factoryId].sort());
    const inFactory = await collect(`v1/programmers?factoryId=${factoryId}`, 'programmerId');
    expect(inFactory).toHaveLength(3);
    expect(new Set(inFactory).size).toBe(3);
    const all = await collect('v1/programmers', 'programmerId');
    expect(all).toEqual(expect.arrayContaining([programmerId, ...inFactory]));
    expect(new Set(all).size).toBe(all.length);
  });

  it('publishes an OpenAPI 3.1 document with every route of the contract, without a token', async () => {
    const response = await api('GET', 'v1/openapi.json');
    expect(response.status).toBe(200);
    const document = response.body as { openapi: string; paths: Record<string, Record<string, unknown>>; info: unknown };
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(document.info).toBeDefined();
    for (const route of allRoutes) {
      expect(document.paths, route.path).toHaveProperty([route.path]);
      expect(document.paths[route.path], `${route.method} ${route.path}`).toHaveProperty([route.method.toLowerCase()]);
    }
  });

  it('publishes a JWKS with an EC P-256 signing key, without a token', async () => {
    const response = await call('GET', 'v1/signing-keys');
    expect(response.status).toBe(200);
    expect(response.body.keys.length).toBeGreaterThan(0);
    const [jwk] = response.body.keys;
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String), x: expect.any(String), y: expect.any(String) });
    expect(jwk).not.toHaveProperty('d');
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });
});
