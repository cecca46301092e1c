import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RouteContract, allRoutes } from '../../shared/contract/index.js';
import { createAccount, uniqueName } from '../support/api.js';
import { api } from '../support/checked-call.js';

/**
 * Tenancy over HTTP, route by route from the contract itself: the other account's admin sees
 * nothing of account A (404 for each of A's objects, only its own data in lists), and
 * programmer credentials are refused on every account-side route. A route added to the
 * contract without a probe here fails the coverage test.
 */
const accountRoutes = allRoutes.filter((route) => route.access.kind === 'account');

interface Objects {
  accountId: string;
  defaultFactoryId: string;
  factoryId: string;
  keyId: string;
  programmerId: string;
  programmerToken: string;
  imageId: string;
  jobId: string;
  cloudImageId: string;
  names: string[];
}

/** What a probe sends: params fill the path from A's ids; `expect` says what the other account must see. */
interface Probe {
  query?: Record<string, string>;
  body?: (a: Objects) => unknown;
  /** `not_found`: 404, nothing of A. `own`: a success that shows only the caller's data. */
  expect: 'not_found' | 'own';
}

const directImage = (factoryId: string) => ({
  name: uniqueName('Tenancy image'),
  factoryId,
  contentSha256: 'c'.repeat(64),
  sizeBytes: 1024,
  delivery: 'direct',
});

const PROBES: Record<string, Probe[]> = {
  getAccount: [{ expect: 'own' }],
  createApiKey: [{ body: () => ({ name: 'probe', role: 'viewer' }), expect: 'own' }],
  listApiKeys: [{ expect: 'own' }],
  revokeApiKey: [{ expect: 'not_found' }],
  listFactories: [{ expect: 'own' }],
  createFactory: [{ body: () => ({ name: uniqueName('Probe') }), expect: 'own' }],
  getFactory: [{ expect: 'not_found' }],
  renameFactory: [{ body: () => ({ name: uniqueName('Hijacked') }), expect: 'not_found' }],
  deleteFactory: [{ expect: 'not_found' }],
  provisionProgrammer: [
    { body: (a) => ({ name: 'intruder', hardwareSerial: randomUUID(), factoryId: a.factoryId }), expect: 'not_found' },
    { body: (a) => ({ name: 'intruder', hardwareSerial: randomUUID(), factoryId: a.defaultFactoryId }), expect: 'not_found' },
  ],
  listProgrammers: [{ expect: 'own' }, { query: { factoryId: 'A.factoryId' }, expect: 'not_found' }],
  getProgrammer: [{ expect: 'not_found' }],
  updateProgrammer: [
    { body: () => ({ status: 'disabled' }), expect: 'not_found' },
    { body: () => ({ name: 'Hijacked', encryptionKeyIds: ['stolen'] }), expect: 'not_found' },
  ],
  deprovisionProgrammer: [{ expect: 'not_found' }],
  registerImage: [{ body: (a) => directImage(a.factoryId), expect: 'not_found' }],
  getImage: [{ expect: 'not_found' }],
  createUploadUrl: [{ expect: 'not_found' }],
  listJobs: [{ expect: 'own' }, { query: { factoryId: 'A.factoryId' }, expect: 'not_found' }],
  getJob: [{ expect: 'not_found' }],
  pauseJob: [{ expect: 'not_found' }],
  resumeJob: [{ expect: 'not_found' }],
  restartJob: [{ expect: 'not_found' }],
  deleteJob: [{ expect: 'not_found' }],
  listJobResults: [{ expect: 'not_found' }],
  listJobLogs: [{ expect: 'not_found' }],
  listAudit: [{ expect: 'own' }],
};

/** A's id for each path parameter; the upload-url route gets A's cloud image, still pending upload. */
function pathFor(route: RouteContract, a: Objects): string {
  return route.path.slice(1).replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (route.operationId === 'createUploadUrl' && name === 'imageId') return a.cloudImageId;
    const value = (a as unknown as Record<string, string>)[name];
    if (!value) throw new Error(`no id of A for {${name}} in ${route.path}`);
    return value;
  });
}

function queryFor(probe: Probe, a: Objects): string {
  if (!probe.query) return '';
  const entries = Object.entries(probe.query).map(([k, v]) => [k, v === 'A.factoryId' ? a.factoryId : v]);
  return `?${new URLSearchParams(entries).toString()}`;
}

/** Everything of A that must never show up in an answer to someone else. */
function secretsOf(a: Objects): string[] {
  return [a.accountId, a.defaultFactoryId, a.factoryId, a.keyId, a.programmerId, a.imageId, a.jobId, a.cloudImageId, ...a.names];
}

async function setUpAccount(label: string): Promise<{ admin: string; objects: Objects }> {
  const credentials = await createAccount(uniqueName(`Tenancy ${label}`));
  const admin = credentials.token;
  const defaultFactoryId = (await api('GET', 'v1/account', { token: admin })).body.account.defaultFactoryId;
  const factoryName = uniqueName(`Factory of ${label}`);
  const factoryId = (await api('POST', 'v1/factories', { token: admin, body: { name: factoryName } })).body.factory.factoryId;
  const keyName = uniqueName(`Key of ${label}`);
  const keyId = (await api('POST', 'v1/api-keys', { token: admin, body: { name: keyName, role: 'author' } })).body.keyId;
  const programmerName = uniqueName(`Programmer of ${label}`);
  const provisioned = await api('POST', 'v1/programmers', { token: admin, body: { name: programmerName, hardwareSerial: randomUUID(), factoryId, encryptionKeyIds: ['key-1'] } });
  expect(provisioned.status).toBe(201);
  const image = directImage(factoryId);
  const registered = await api('POST', 'v1/images', { token: admin, body: image });
  expect(registered.status).toBe(201);
  const cloud = await api('POST', 'v1/images', { token: admin, body: { ...directImage(factoryId), delivery: 'cloud', encryptionKeyId: 'key-1' } });
  expect(cloud.status).toBe(201);
  return {
    admin,
    objects: {
      accountId: credentials.accountId,
      defaultFactoryId,
      factoryId,
      keyId,
      programmerId: provisioned.body.programmer.programmerId,
      programmerToken: provisioned.body.credentials.token,
      imageId: registered.body.image.imageId,
      jobId: registered.body.job.jobId,
      cloudImageId: cloud.body.image.imageId,
      names: [factoryName, keyName, programmerName, image.name],
    },
  };
}

describe('tenancy on every account-side route', () => {
  let a: Objects;
  let adminA: string;
  let adminB: string;
  let b: Objects;

  beforeAll(async () => {
    [{ admin: adminA, objects: a }, { admin: adminB, objects: b }] = await Promise.all([setUpAccount('A'), setUpAccount('B')]);
  });

  it('has a probe for every account-side route of the contract', () => {
    expect(accountRoutes.length).toBeGreaterThan(20);
    expect(Object.keys(PROBES).sort()).toEqual(accountRoutes.map((route) => route.operationId).sort());
  });

  it('answers the other account 404 on each of A’s objects and shows it only its own data, leaking nothing of A', async () => {
    const secrets = secretsOf(a);
    for (const route of accountRoutes) {
      for (const probe of PROBES[route.operationId] ?? []) {
        const target = `${pathFor(route, a)}${queryFor(probe, a)}`;
        const response = await api(route.method, target, { token: adminB, body: probe.body?.(a) });
        const where = `${route.method} ${target} → ${response.status} ${JSON.stringify(response.body)}`;
        if (probe.expect === 'not_found') {
          expect(response.status, where).toBe(404);
          expect(response.body.error.code, where).toBe('not_found');
        } else {
          expect(response.status, where).toBe(route.successStatus);
        }
        const text = JSON.stringify(response.body ?? '');
        for (const secret of secrets) expect(text, `${where} mentions ${secret}`).not.toContain(secret);
      }
    }
  });

  it('lists only the caller’s own objects', async () => {
    const ids = async (route: string, field: string) => ((await api('GET', route, { token: adminB })).body.items as Record<string, string>[]).map((item) => item[field]);
    expect(await ids('v1/factories', 'factoryId')).toEqual(expect.arrayContaining([b.defaultFactoryId, b.factoryId]));
    expect(await ids('v1/api-keys', 'keyId')).toContain(b.keyId);
    expect(await ids('v1/programmers', 'programmerId')).toContain(b.programmerId);
    expect(await ids('v1/jobs', 'jobId')).toContain(b.jobId);
    expect((await api('GET', 'v1/account', { token: adminB })).body.account.accountId).toBe(b.accountId);
  });

  it('refuses moving B’s own programmer into A’s factory with 404', async () => {
    const response = await api('PATCH', `v1/programmers/${b.programmerId}`, { token: adminB, body: { factoryId: a.factoryId } });
    expect(response.status).toBe(404);
    expect((await api('GET', `v1/programmers/${b.programmerId}`, { token: adminB })).body.programmer.factoryId).toBe(b.factoryId);
  });

  it('left every object of A as it was', async () => {
    const factory = await api('GET', `v1/factories/${a.factoryId}`, { token: adminA });
    expect(factory.body.factory).toMatchObject({ name: a.names[0], programmerCount: 1 });
    const programmer = await api('GET', `v1/programmers/${a.programmerId}`, { token: adminA });
    expect(programmer.body.programmer).toMatchObject({ status: 'active', name: a.names[2], factoryId: a.factoryId, encryptionKeyIds: ['key-1'] });
    const key = (await api('GET', 'v1/api-keys', { token: adminA })).body.items.find((k: { keyId: string }) => k.keyId === a.keyId);
    expect(key).toMatchObject({ status: 'active' });
    const job = await api('GET', `v1/jobs/${a.jobId}`, { token: adminA });
    expect(job.body.job).toMatchObject({ status: 'active', run: 1 });
    expect((await api('GET', `v1/images/${a.imageId}`, { token: adminA })).status).toBe(200);
    expect((await api('GET', `v1/images/${a.cloudImageId}`, { token: adminA })).body.image.status).toBe('pending_upload');
    // Nothing B did landed in A's lists or audit trail.
    const factories = (await api('GET', 'v1/factories', { token: adminA })).body.items;
    expect(factories.map((f: { factoryId: string }) => f.factoryId).sort()).toEqual([a.defaultFactoryId, a.factoryId].sort());
    const programmers = (await api('GET', 'v1/programmers', { token: adminA })).body.items;
    expect(programmers.map((p: { programmerId: string }) => p.programmerId)).toEqual([a.programmerId]);
    const audit = JSON.stringify((await api('GET', 'v1/audit', { token: adminA })).body);
    for (const secret of [b.accountId, b.keyId, b.programmerId, b.factoryId]) expect(audit).not.toContain(secret);
  });

  it('refuses programmer credentials on every account-side route with 403, even on their own account’s objects', async () => {
    for (const route of accountRoutes) {
      const probe = PROBES[route.operationId]?.[0];
      const target = `${pathFor(route, a)}${probe ? queryFor(probe, a) : ''}`;
      const response = await api(route.method, target, { token: a.programmerToken, body: probe?.body?.(a) });
      expect(response.status, `${route.method} ${target} → ${response.status}`).toBe(403);
      expect(response.body.error.code).toBe('forbidden');
    }
    // The same token is a working programmer credential.
    expect((await api('GET', 'v1/device/jobs', { token: a.programmerToken })).status).toBe(200);
  });
});
