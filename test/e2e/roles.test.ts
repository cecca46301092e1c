import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { createAccount, feedSettled, uniqueName } from '../support/api.js';
import { api } from '../support/checked-call.js';

/**
 * Roles per factory over HTTP (api.md "People, roles per factory"): keys limited to factories,
 * the operator role, `caller` on GET /v1/account, and audit records naming the key. The
 * generated matrix (foundation-tenancy.test.ts) probes every route; this is the story a
 * factory's operator and author live through.
 */
const directImage = (factoryId: string) => ({ name: uniqueName('Roles image'), factoryId, contentSha256: 'd'.repeat(64), sizeBytes: 2048, delivery: 'direct', serials: { start: 1, format: 'RL-{n:06}' } });

describe('keys limited to factories, at each role', () => {
  let admin: string;
  let lineA: string;
  let lineB: string;
  let jobA: string;
  let jobB: string;
  let programmerA: { programmerId: string; token: string };
  let programmerB: { programmerId: string; token: string };
  const key = async (role: string, factoryIds?: string[]) => {
    const response = await api('POST', 'v1/api-keys', { token: admin, body: { name: uniqueName(`${role} key`), role, ...(factoryIds && { factoryIds }) } });
    expect(response.status).toBe(201);
    return response.body as { keyId: string; apiKey: Record<string, unknown>; credentials: CredentialsFileType };
  };
  const provision = async (factoryId: string) => {
    const response = await api('POST', 'v1/programmers', { token: admin, body: { name: uniqueName('Roles programmer'), hardwareSerial: randomUUID(), factoryId } });
    expect(response.status).toBe(201);
    return { programmerId: response.body.programmer.programmerId as string, token: response.body.credentials.token as string };
  };

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('Roles'))).token;
    const factory = async (name: string) => (await api('POST', 'v1/factories', { token: admin, body: { name: uniqueName(name) } })).body.factory.factoryId as string;
    const job = async (factoryId: string) => (await api('POST', 'v1/images', { token: admin, body: directImage(factoryId) })).body.job.jobId as string;
    [lineA, lineB] = await Promise.all([factory('Line A'), factory('Line B')]);
    [jobA, jobB] = await Promise.all([job(lineA), job(lineB)]);
    [programmerA, programmerB] = await Promise.all([provision(lineA), provision(lineB)]);
  });

  it('issues a key limited to factories: its credentials file, key list and GET /v1/account say so', async () => {
    const operator = await key('operator', [lineA]);
    expect(operator.credentials).toMatchObject({ role: 'operator', factoryIds: [lineA] });
    expect(operator.apiKey).toMatchObject({ role: 'operator', factoryIds: [lineA] });
    const listed = (await api('GET', 'v1/api-keys', { token: admin })).body.items.find((k: { keyId: string }) => k.keyId === operator.keyId);
    expect(listed).toMatchObject({ role: 'operator', factoryIds: [lineA], status: 'active' });
    const account = await api('GET', 'v1/account', { token: operator.credentials.token });
    expect(account.body.caller).toEqual({ via: 'key', keyId: operator.keyId, role: 'operator', factoryIds: [lineA] });
    const whole = await api('GET', 'v1/account', { token: admin });
    expect(whole.body.caller).toMatchObject({ via: 'key', role: 'admin' });
    expect(whole.body.caller.factoryIds).toBeUndefined();
  });

  it('refuses an admin key limited to factories, an unknown factory and repeated ids, naming the field, and writes nothing', async () => {
    const before = (await api('GET', 'v1/api-keys', { token: admin })).body.items.length;
    // An unknown factory is the account's state speaking: 404 naming it, as for another account's object.
    const cases: [Record<string, unknown>, string, number, string][] = [
      [{ role: 'admin', factoryIds: [lineA] }, 'factoryIds', 400, 'invalid_request'],
      [{ role: 'viewer', factoryIds: [lineA, 'fac_doesnotexist'] }, 'factoryIds.1', 404, 'not_found'],
      [{ role: 'viewer', factoryIds: [lineA, lineA] }, 'factoryIds', 400, 'invalid_request'],
      [{ role: 'viewer', factoryIds: [] }, 'factoryIds', 400, 'invalid_request'],
      [{ role: 'owner' }, 'role', 400, 'invalid_request'],
    ];
    for (const [body, path, status, code] of cases) {
      const response = await api('POST', 'v1/api-keys', { token: admin, body: { name: 'bad', ...body } });
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.error.code).toBe(code);
      expect(response.body.error.details.issues.map((issue: { path: string }) => issue.path)).toContain(path);
    }
    expect((await api('GET', 'v1/api-keys', { token: admin })).body.items).toHaveLength(before);
  });

  it('lets an operator of line A see and steer only line A: pause and resume yes, delete and images no, line B is 404', async () => {
    const operator = await key('operator', [lineA]);
    const token = operator.credentials.token;
    const jobs = (await api('GET', 'v1/jobs', { token })).body.items.map((job: { jobId: string }) => job.jobId);
    expect(jobs).toEqual([jobA]);
    expect((await api('GET', 'v1/programmers', { token })).body.items.map((p: { programmerId: string }) => p.programmerId)).toEqual([programmerA.programmerId]);
    for (const route of [`v1/jobs/${jobB}`, `v1/jobs/${jobB}/results`, `v1/jobs/${jobB}/logs`, `v1/programmers/${programmerB.programmerId}`, `v1/factories/${lineB}`, `v1/jobs?factoryId=${lineB}`]) {
      const response = await api('GET', route, { token });
      expect(response.status, route).toBe(404);
      expect(response.body.error.code).toBe('not_found');
    }
    expect((await api('POST', `v1/jobs/${jobB}/pause`, { token })).status).toBe(404);

    const paused = await api('POST', `v1/jobs/${jobA}/pause`, { token });
    expect(paused.status).toBe(200);
    expect(paused.body.job.status).toBe('paused');
    const refused = await api('POST', 'v1/device/authorizations', { token: programmerA.token, body: { jobId: jobA, units: 1, nonce: randomUUID() } });
    expect(refused.body.error.code).toBe('job_paused');
    expect((await api('POST', `v1/jobs/${jobA}/resume`, { token })).body.job.status).toBe('active');

    expect((await api('DELETE', `v1/jobs/${jobA}`, { token })).status).toBe(403);
    expect((await api('POST', 'v1/images', { token, body: directImage(lineA) })).status).toBe(403);
    expect((await api('GET', `v1/jobs/${jobA}`, { token })).body.job.status).toBe('active');

    // The audit trail names the key that paused and resumed.
    await feedSettled();
    const audit = (await api('GET', 'v1/audit', { token: admin })).body.items as { actor: string; action: string; target: { id: string } }[];
    const steering = audit.filter((record) => record.target.id === jobA && record.actor === `key:${operator.keyId}`).map((record) => record.action);
    expect(steering.sort()).toEqual(['job.pause', 'job.resume']);
  });

  it('lets an author of line A register images in line A only, read shared sources, and not change them', async () => {
    const author = (await key('author', [lineA])).credentials.token;
    const registered = await api('POST', 'v1/images', { token: author, body: directImage(lineA) });
    expect(registered.status).toBe(201);
    expect((await api('POST', 'v1/images', { token: author, body: directImage(lineB) })).status).toBe(404);
    expect((await api('GET', `v1/images/${registered.body.image.imageId}`, { token: author })).status).toBe(200);
    const pool = await api('POST', 'v1/serial-pools', { token: admin, body: { name: uniqueName('Shared pool'), format: 'SP{n:06}' } });
    expect((await api('GET', `v1/serial-pools/${pool.body.serialPool.serialPoolId}`, { token: author })).status).toBe(200);
    const refused = await api('POST', 'v1/serial-pools', { token: author, body: { name: uniqueName('Mine'), format: 'MP{n:06}' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/not limited to factories/);
    expect((await api('POST', 'v1/data-lists', { token: author, body: { name: uniqueName('List'), columns: [{ name: 'k' }] } })).status).toBe(403);
    expect((await api('DELETE', `v1/jobs/${registered.body.job.jobId}`, { token: author })).status).toBe(200);
  });

  it('lets a viewer read its factory and nothing else: no pause', async () => {
    const viewer = (await key('viewer', [lineA])).credentials.token;
    expect((await api('GET', `v1/jobs/${jobA}`, { token: viewer })).status).toBe(200);
    const pause = await api('POST', `v1/jobs/${jobA}/pause`, { token: viewer });
    expect(pause.status).toBe(403);
    expect(pause.body.error.code).toBe('forbidden');
  });

  it('hides a programmer from line A once it moved to line B, and a unit of line B from line A', async () => {
    const moving = await provision(lineA);
    const viewer = (await key('viewer', [lineA])).credentials.token;
    expect((await api('GET', `v1/programmers/${moving.programmerId}`, { token: viewer })).status).toBe(200);
    expect((await api('PATCH', `v1/programmers/${moving.programmerId}`, { token: admin, body: { factoryId: lineB } })).status).toBe(200);
    expect((await api('GET', `v1/programmers/${moving.programmerId}`, { token: viewer })).status).toBe(404);

    const pool = await api('POST', 'v1/serial-pools', { token: admin, body: { name: uniqueName('Units pool'), format: 'UL{n:06}' } });
    const image = await api('POST', 'v1/images', { token: admin, body: { ...directImage(lineB), serials: undefined, unitFields: [{ name: 'serial', source: { serialPool: pool.body.serialPool.serialPoolId } }] } });
    expect(image.status).toBe(201);
    const granted = await api('POST', 'v1/device/authorizations', { token: programmerB.token, body: { jobId: image.body.job.jobId, units: 1, nonce: randomUUID() } });
    expect(granted.status).toBe(201);
    // The pool's value is what the unit lookup traces (the job's own serials are a private pool).
    const serial = granted.body.unitData[0].fields.serial as string;
    const byAdmin = await api('GET', `v1/units?serial=${encodeURIComponent(serial)}`, { token: admin });
    expect(byAdmin.body.items).toEqual([expect.objectContaining({ factoryId: lineB, jobId: image.body.job.jobId })]);
    expect((await api('GET', `v1/units?serial=${encodeURIComponent(serial)}`, { token: viewer })).body.items).toEqual([]);
  });

  it('keeps account-wide keys seeing every factory', async () => {
    const everywhere = (await key('viewer')).credentials.token;
    const jobs = (await api('GET', 'v1/jobs', { token: everywhere })).body.items.map((job: { jobId: string }) => job.jobId);
    expect(jobs).toEqual(expect.arrayContaining([jobA, jobB]));
  });
});
