import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { allRoutes } from '../../shared/contract/index.js';
import { type ApiResponse, call, createAccount, uniqueName } from '../support/api.js';
import { api } from '../support/checked-call.js';
import { type Caller, type MatrixCase, SCOPED_CALLERS, SCOPED_ROLE, type ScopedCaller, type ScopedCase, type TenantIds, buildMatrix, buildScopeMatrix } from '../support/tenancy-matrix.js';

/**
 * Tenancy over HTTP, generated from the contract's route list: every route × {the other
 * account's admin, the other account's programmer, a revoked key, a disabled programmer, a
 * malformed token, no token}, each answered with the status api.md documents (401 without a
 * valid credential, 403 for the wrong kind of credential, 404 for another account's objects,
 * 409 programmer_disabled on device routes), never leaking anything of account A. The
 * fixtures live in test/support/tenancy-matrix.ts; a unit test fails for a route they miss.
 * One fixture setup, requests in parallel.
 */
const PARALLEL = 8;

interface Account {
  admin: string;
  ids: TenantIds;
  programmerToken: string;
  disabledProgrammerId: string;
  disabledToken: string;
  revokedToken: string;
  names: string[];
}

const directImage = (factoryId: string) => ({ name: uniqueName('Tenancy image'), factoryId, contentSha256: 'c'.repeat(64), sizeBytes: 1024, delivery: 'direct' });

async function provision(admin: string, factoryId: string, name: string): Promise<{ programmerId: string; token: string }> {
  const response = await api('POST', 'v1/programmers', { token: admin, body: { name, hardwareSerial: randomUUID(), factoryId, encryptionKeyIds: ['key-1'] } });
  expect(response.status).toBe(201);
  return { programmerId: response.body.programmer.programmerId, token: response.body.credentials.token };
}

async function authorize(token: string, jobId: string): Promise<string> {
  const response = await api('POST', 'v1/device/authorizations', { token, body: { jobId, units: 1, nonce: randomUUID() } });
  expect(response.status).toBe(201);
  return response.body.authorizationId;
}

/** An account with one of everything a route can aim at, a revoked admin key and a disabled programmer holding an authorization. */
async function setUpAccount(label: string): Promise<Account> {
  const credentials = await createAccount(uniqueName(`Tenancy ${label}`));
  const admin = credentials.token;
  const defaultFactoryId = (await api('GET', 'v1/account', { token: admin })).body.account.defaultFactoryId;
  const factoryName = uniqueName(`Factory of ${label}`);
  const factoryId = (await api('POST', 'v1/factories', { token: admin, body: { name: factoryName } })).body.factory.factoryId;
  const keyName = uniqueName(`Key of ${label}`);
  const [key, revoked, programmer, disabled, image, cloud, pool, block, list] = await Promise.all([
    api('POST', 'v1/api-keys', { token: admin, body: { name: keyName, role: 'author' } }),
    api('POST', 'v1/api-keys', { token: admin, body: { name: uniqueName('Revoked'), role: 'admin' } }),
    provision(admin, factoryId, uniqueName(`Programmer of ${label}`)),
    provision(admin, factoryId, uniqueName(`Disabled of ${label}`)),
    api('POST', 'v1/images', { token: admin, body: directImage(factoryId) }),
    api('POST', 'v1/images', { token: admin, body: { ...directImage(factoryId), delivery: 'cloud', encryptionKeyId: 'key-1' } }),
    api('POST', 'v1/serial-pools', { token: admin, body: { name: uniqueName(`Pool of ${label}`), format: 'A{n:08}' } }),
    api('POST', 'v1/mac-blocks', { token: admin, body: { name: uniqueName(`Block of ${label}`), first: '02:00:00:00:00:00', count: 16 } }),
    api('POST', 'v1/data-lists', { token: admin, body: { name: uniqueName(`List of ${label}`), columns: [{ name: 'key', secret: true }] } }),
  ]);
  expect([key.status, revoked.status, image.status, cloud.status, pool.status, block.status, list.status]).toEqual([201, 201, 201, 201, 201, 201, 201]);
  // Revoked before its first use, so no authorizer cache entry can keep it alive.
  expect((await api('DELETE', `v1/api-keys/${revoked.body.keyId}`, { token: admin })).status).toBe(200);
  const ca = await api('POST', 'v1/certificate-authorities', { token: admin, body: { name: 'Tenant CA', subject: 'CN=Tenant CA' } });
  expect(ca.status).toBe(201);
  const jobId = image.body.job.jobId;
  const [authorizationId, disabledAuthorizationId] = await Promise.all([authorize(programmer.token, jobId), authorize(disabled.token, jobId)]);
  expect((await api('PATCH', `v1/programmers/${disabled.programmerId}`, { token: admin, body: { status: 'disabled' } })).status).toBe(200);
  return {
    admin,
    ids: {
      accountId: credentials.accountId,
      defaultFactoryId,
      factoryId,
      keyId: key.body.keyId,
      programmerId: programmer.programmerId,
      imageId: image.body.image.imageId,
      jobId,
      cloudImageId: cloud.body.image.imageId,
      authorizationId,
      disabledAuthorizationId,
      serialPoolId: pool.body.serialPool.serialPoolId,
      macBlockId: block.body.macBlock.macBlockId,
      certificateAuthorityId: ca.body.certificateAuthority.certificateAuthorityId,
      dataListId: list.body.dataList.dataListId,
      webhookId: (await api('POST', 'v1/webhooks', { token: admin, body: { url: 'https://hooks.example.com/tenancy', events: ['job.paused'] } })).body.webhook.webhookId,
      personId: (await api('POST', 'v1/people', { token: admin, body: { email: `tenancy-${randomUUID()}@example.com`, role: 'viewer' } })).body.person.personId,
      groupId: (await api('POST', `v1/factories/${factoryId}/groups`, { token: admin, body: { name: uniqueName(`Group of ${label}`) } })).body.group.groupId,
    },
    programmerToken: programmer.token,
    disabledProgrammerId: disabled.programmerId,
    disabledToken: disabled.token,
    revokedToken: revoked.body.credentials.token,
    names: [factoryName, keyName, image.body.image.name, pool.body.serialPool.name, block.body.macBlock.name, list.body.dataList.name],
  };
}

/** Everything of A that must never show up in an answer to anyone refused. */
function secretsOf(a: Account): string[] {
  return [...Object.values(a.ids), a.disabledProgrammerId, ...a.names];
}

function tokenFor(caller: Caller, a: Account, b: Account): string | undefined {
  switch (caller) {
    case 'otherAdmin':
      return b.admin;
    case 'otherProgrammer':
      return b.programmerToken;
    case 'revokedKey':
      return a.revokedToken;
    case 'disabledProgrammer':
      return a.disabledToken;
    case 'malformedToken':
      return 'not a token \u00e9';
    case 'noToken':
      return undefined;
  }
}

/** What is wrong with one answer, or undefined. */
function mismatch(entry: MatrixCase, response: ApiResponse, secrets: string[]): string | undefined {
  const { expected } = entry;
  const text = JSON.stringify(response.body ?? '');
  const leaked = expected.kind === 'public' ? undefined : secrets.find((secret) => text.includes(secret));
  if (leaked) return `mentions A's ${leaked}`;
  if (response.status >= 500) return `server error ${response.status}`;
  if (expected.kind === 'public') return response.status === 200 ? undefined : `expected 200`;
  if (expected.kind === 'own') return response.status === entry.route.successStatus ? undefined : `expected ${entry.route.successStatus} with its own data`;
  if (response.status !== expected.status) return `expected ${expected.status} ${expected.code}`;
  // API Gateway answers a missing Authorization header itself (README: "Missing token").
  const gatewayUnauthorized = entry.caller === 'noToken' && (response.body as { message?: string } | undefined)?.message === 'Unauthorized';
  const code = (response.body as { error?: { code?: string } } | undefined)?.error?.code;
  return gatewayUnauthorized || code === expected.code ? undefined : `expected code ${expected.code}`;
}

function scopedMismatch(entry: ScopedCase, response: ApiResponse, secrets: string[]): string | undefined {
  const leaked = secrets.find((secret) => JSON.stringify(response.body ?? '').includes(secret));
  if (leaked) return `mentions ${leaked} of A's other factory`;
  if (response.status >= 500) return `server error ${response.status}`;
  const { expected } = entry;
  if (expected.kind !== 'refused') return response.status === entry.route.successStatus ? undefined : `expected ${entry.route.successStatus}`;
  const code = (response.body as { error?: { code?: string } } | undefined)?.error?.code;
  return response.status === expected.status && code === expected.code ? undefined : `expected ${expected.status} ${expected.code}`;
}

async function inParallel<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

describe('tenancy matrix: every route of the contract × every caller that must be refused', () => {
  let a: Account;
  let b: Account;
  /** A's factory of the keys limited to another factory (made by that test; nobody else adds to A). */
  const factoriesAdded: string[] = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([setUpAccount('A'), setUpAccount('B')]);
  });

  it('answers each with the documented status and leaks nothing of A', async () => {
    const matrix = buildMatrix(allRoutes, a.ids);
    expect(matrix.length).toBeGreaterThanOrEqual(allRoutes.length * 6);
    const secrets = secretsOf(a);
    const failures = (
      await inParallel(matrix, PARALLEL, async (entry) => {
        const response = await call(entry.route.method, entry.target, { token: tokenFor(entry.caller, a, b), body: entry.body });
        const problem = mismatch(entry, response, secrets);
        return problem && `${entry.name} → ${response.status} ${JSON.stringify(response.body).slice(0, 200)}: ${problem}`;
      })
    ).filter(Boolean);
    expect(failures).toEqual([]);
    console.log(`[tenancy] ${matrix.length} requests (${allRoutes.length} routes × 6 callers, with variants), all as documented`);
  });

  it('answers keys of A limited to another factory as documented on every route, and shows them nothing of that factory', async () => {
    // Factory C of A, and a key per scoped role limited to it: A's factory is "another factory" to them.
    const factoryC = (await api('POST', 'v1/factories', { token: a.admin, body: { name: uniqueName('Factory C') } })).body.factory.factoryId;
    factoriesAdded.push(factoryC);
    const keys = Object.fromEntries(
      await Promise.all(
        SCOPED_CALLERS.map(async (caller) => {
          const created = await api('POST', 'v1/api-keys', { token: a.admin, body: { name: uniqueName(caller), role: SCOPED_ROLE[caller], factoryIds: [factoryC] } });
          expect(created.status).toBe(201);
          return [caller, created.body.credentials.token as string];
        }),
      ),
    ) as Record<ScopedCaller, string>;
    const matrix = buildScopeMatrix(allRoutes, a.ids);
    // What lies in A's factory F; account-wide sources (pools, lists, blocks, CAs) are shared by design (README).
    const secrets = [a.ids.factoryId, a.ids.programmerId, a.ids.imageId, a.ids.jobId, a.ids.cloudImageId, a.ids.authorizationId, a.ids.disabledAuthorizationId, a.disabledProgrammerId, a.names[0] as string, a.names[2] as string];
    const failures = (
      await inParallel(matrix, PARALLEL, async (entry) => {
        const response = await call(entry.route.method, entry.target, { token: keys[entry.caller], body: entry.body });
        const problem = scopedMismatch(entry, response, secrets);
        return problem && `${entry.name} → ${response.status} ${JSON.stringify(response.body).slice(0, 200)}: ${problem}`;
      })
    ).filter(Boolean);
    expect(failures).toEqual([]);
    const factories = (await api('GET', 'v1/factories', { token: keys.viewerOfOtherFactory })).body.items.map((f: { factoryId: string }) => f.factoryId);
    expect(factories).toEqual([factoryC]);
    console.log(`[tenancy] ${matrix.length} requests by keys limited to another factory, all as documented`);
  });

  it('lists only the caller’s own objects', async () => {
    const ids = async (route: string, field: string) => ((await api('GET', route, { token: b.admin })).body.items as Record<string, string>[]).map((item) => item[field]);
    expect(await ids('v1/factories', 'factoryId')).toEqual(expect.arrayContaining([b.ids.defaultFactoryId, b.ids.factoryId]));
    expect(await ids('v1/api-keys', 'keyId')).toContain(b.ids.keyId);
    expect(await ids('v1/programmers', 'programmerId')).toContain(b.ids.programmerId);
    expect(await ids('v1/jobs', 'jobId')).toContain(b.ids.jobId);
    expect((await api('GET', 'v1/account', { token: b.admin })).body.account.accountId).toBe(b.ids.accountId);
  });

  it('refuses moving B’s own programmer into A’s factory with 404', async () => {
    const response = await api('PATCH', `v1/programmers/${b.ids.programmerId}`, { token: b.admin, body: { factoryId: a.ids.factoryId } });
    expect(response.status).toBe(404);
    expect((await api('GET', `v1/programmers/${b.ids.programmerId}`, { token: b.admin })).body.programmer.factoryId).toBe(b.ids.factoryId);
  });

  it('left every object of A as it was', async () => {
    const factory = await api('GET', `v1/factories/${a.ids.factoryId}`, { token: a.admin });
    expect(factory.body.factory).toMatchObject({ name: a.names[0], programmerCount: 2 });
    const programmer = await api('GET', `v1/programmers/${a.ids.programmerId}`, { token: a.admin });
    expect(programmer.body.programmer).toMatchObject({ status: 'active', factoryId: a.ids.factoryId, encryptionKeyIds: ['key-1'] });
    const key = (await api('GET', 'v1/api-keys', { token: a.admin })).body.items.find((k: { keyId: string }) => k.keyId === a.ids.keyId);
    expect(key).toMatchObject({ status: 'active' });
    const job = await api('GET', `v1/jobs/${a.ids.jobId}`, { token: a.admin });
    // The two authorizations of the setup, nothing reported, released or restarted by anyone else.
    expect(job.body.job).toMatchObject({ status: 'active', run: 1, counters: expect.objectContaining({ authorized: 2, succeeded: 0, failed: 0 }) });
    expect((await api('GET', `v1/images/${a.ids.imageId}`, { token: a.admin })).status).toBe(200);
    expect((await api('GET', `v1/images/${a.ids.cloudImageId}`, { token: a.admin })).body.image.status).toBe('pending_upload');
    expect((await api('GET', `v1/jobs/${a.ids.jobId}/logs`, { token: a.admin })).body.items).toEqual([]);
    // Nothing B did landed in A's lists or audit trail.
    const factories = (await api('GET', 'v1/factories', { token: a.admin })).body.items;
    expect(factories.map((f: { factoryId: string }) => f.factoryId).sort()).toEqual([a.ids.defaultFactoryId, a.ids.factoryId, ...factoriesAdded].sort());
    const programmers = (await api('GET', 'v1/programmers', { token: a.admin })).body.items;
    expect(programmers.map((p: { programmerId: string }) => p.programmerId).sort()).toEqual([a.ids.programmerId, a.disabledProgrammerId].sort());
    const audit = JSON.stringify((await api('GET', 'v1/audit', { token: a.admin })).body);
    for (const secret of [b.ids.accountId, b.ids.keyId, b.ids.programmerId, b.ids.factoryId]) expect(audit).not.toContain(secret);
  });
});
