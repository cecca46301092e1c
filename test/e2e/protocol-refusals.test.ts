import { createHash, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createAccount, feedSettled, uniqueName } from '../support/api.js';

/** Every refusal of the programmer protocol, each with its contract code, and the idempotency rules. */
describe('programmer protocol: refusals and idempotency', () => {
  let admin: string;
  let otherAdmin: string;
  let factoryId: string;
  let otherFactoryId: string;
  let programmer: { token: string; programmerId: string };
  let elsewhere: { token: string; programmerId: string };
  let foreign: { token: string; programmerId: string };

  const provision = async (token: string, name: string, factory?: string) => {
    const response = await call('POST', 'v1/programmers', { token, body: { name, hardwareSerial: randomUUID(), ...(factory && { factoryId: factory }) } });
    expect(response.status).toBe(201);
    return { token: response.body.credentials.token, programmerId: response.body.programmer.programmerId };
  };

  const registerDirect = async (extra: Record<string, unknown> = {}, token = admin, factory = factoryId) => {
    const response = await call('POST', 'v1/images', {
      token,
      body: { name: uniqueName('Image'), factoryId: factory, contentSha256: createHash('sha256').update(randomUUID()).digest('hex'), sizeBytes: 4096, delivery: 'direct', ...extra },
    });
    expect(response.status).toBe(201);
    return response.body;
  };

  const authorize = (who: { token: string }, body: Record<string, unknown>) =>
    call('POST', 'v1/device/authorizations', { token: who.token, body: { units: 1, nonce: randomUUID(), ...body } });

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('Refusals'))).token;
    otherAdmin = (await createAccount(uniqueName('Refusals other'))).token;
    factoryId = (await call('POST', 'v1/factories', { token: admin, body: { name: 'Line A' } })).body.factory.factoryId;
    otherFactoryId = (await call('POST', 'v1/factories', { token: admin, body: { name: 'Line B' } })).body.factory.factoryId;
    programmer = await provision(admin, 'In A', factoryId);
    elsewhere = await provision(admin, 'In B', otherFactoryId);
    foreign = await provision(otherAdmin, 'Other account');
  });

  it('registers a direct-delivery image without S3: status registered, no upload, no download', async () => {
    const { image, job, upload } = await registerDirect();
    expect(image.status).toBe('registered');
    expect(upload).toBeUndefined();
    const download = await call('POST', `v1/device/jobs/${job.jobId}/download-url`, { token: programmer.token });
    expect(download.status).toBe(409);
    expect(download.body.error.code).toBe('image_not_available');
    const reissue = await call('POST', `v1/images/${image.imageId}/upload-url`, { token: admin });
    expect(reissue.status).toBe(409);
  });

  it('refuses cloud delivery without an encryption key id, naming the field', async () => {
    const response = await call('POST', 'v1/images', {
      token: admin,
      body: { name: 'x', factoryId, contentSha256: 'a'.repeat(64), sizeBytes: 1, delivery: 'cloud' },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('encryption_required');
    expect(response.body.error.details.issues[0].path).toBe('encryptionKeyId');
  });

  it('answers 404 for a factory or job of another account, and never writes', async () => {
    const foreignFactory = await call('POST', 'v1/images', {
      token: otherAdmin,
      body: { name: 'x', factoryId, contentSha256: 'b'.repeat(64), sizeBytes: 1, delivery: 'direct' },
    });
    expect(foreignFactory.status).toBe(404);
    const { job } = await registerDirect();
    expect((await authorize(foreign, { jobId: job.jobId })).status).toBe(404);
    expect((await call('GET', `v1/jobs/${job.jobId}`, { token: otherAdmin })).status).toBe(404);
    expect((await call('POST', `v1/jobs/${job.jobId}/pause`, { token: otherAdmin })).status).toBe(404);
    const after = await call('GET', `v1/jobs/${job.jobId}`, { token: admin });
    expect(after.body.job).toMatchObject({ status: 'active', counters: { authorized: 0 } });
  });

  it('refuses a programmer of another factory with wrong_factory, and a disabled one with programmer_disabled', async () => {
    const { job } = await registerDirect();
    const wrong = await authorize(elsewhere, { jobId: job.jobId });
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.code).toBe('wrong_factory');

    const disabledOne = await provision(admin, 'To disable', factoryId);
    await call('PATCH', `v1/programmers/${disabledOne.programmerId}`, { token: admin, body: { status: 'disabled' } });
    const disabled = await authorize(disabledOne, { jobId: job.jobId });
    expect(disabled.status).toBe(409);
    expect(disabled.body.error.code).toBe('programmer_disabled');
  });

  it('refuses before notBefore and after notAfter', async () => {
    const future = await registerDirect({ restrictions: { notBefore: new Date(Date.now() + 86_400_000).toISOString() } });
    const early = await authorize(programmer, { jobId: future.job.jobId });
    expect(early.body.error.code).toBe('job_not_started');
    const past = await registerDirect({
      restrictions: { notBefore: new Date(Date.now() - 2 * 86_400_000).toISOString(), notAfter: new Date(Date.now() - 86_400_000).toISOString() },
    });
    expect(past.job.status).toBe('expired');
    const late = await authorize(programmer, { jobId: past.job.jobId });
    expect(late.body.error.code).toBe('job_expired');
    const window = await registerDirect({
      restrictions: { notBefore: new Date(Date.now() - 60_000).toISOString(), notAfter: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect((await authorize(programmer, { jobId: window.job.jobId })).status).toBe(201);
  });

  it('refuses a tampered binding and a binding of another account with binding_mismatch', async () => {
    const { job, binding } = await registerDirect();
    const [header, payload, signature] = binding.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, iat: claims.iat + 1 })).toString('base64url')}.${signature}`;
    expect((await authorize(programmer, { jobId: job.jobId, binding: tampered })).body.error.code).toBe('binding_mismatch');

    const foreignImage = await registerDirect({}, otherAdmin, (await call('GET', 'v1/account', { token: otherAdmin })).body.account.defaultFactoryId);
    expect((await authorize(programmer, { jobId: job.jobId, binding: foreignImage.binding })).body.error.code).toBe('binding_mismatch');
    expect((await authorize(programmer, { jobId: job.jobId, binding })).status).toBe(201);
  });

  it('returns the stored authorization (200) for a retried nonce, and refuses a reused nonce with other terms', async () => {
    const { job } = await registerDirect({ restrictions: { maxCount: 5 } });
    const nonce = randomUUID();
    const first = await authorize(programmer, { jobId: job.jobId, units: 2, nonce });
    expect(first.status).toBe(201);
    const retry = await authorize(programmer, { jobId: job.jobId, units: 2, nonce });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    const reused = await authorize(programmer, { jobId: job.jobId, units: 3, nonce });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('nonce_reused');
    const counters = (await call('GET', `v1/jobs/${job.jobId}`, { token: admin })).body.job.counters;
    expect(counters).toMatchObject({ authorized: 2, remaining: 3 });

    // A retried nonce still answers after the job is paused: the units were already granted.
    await call('POST', `v1/jobs/${job.jobId}/pause`, { token: admin });
    expect((await authorize(programmer, { jobId: job.jobId, units: 2, nonce })).status).toBe(200);
  });

  it('refuses results for serials the authorization did not grant, recording nothing of the request', async () => {
    const { job } = await registerDirect();
    const grant = (await authorize(programmer, { jobId: job.jobId, units: 2 })).body;
    const response = await call('POST', 'v1/device/results', {
      token: programmer.token,
      body: { authorizationId: grant.authorizationId, results: [{ serial: grant.serials[0], status: 'success' }, { serial: 'SN-99999999', status: 'success' }] },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.details.issues[0].path).toBe('results.1.serial');
    const results = await call('GET', `v1/jobs/${job.jobId}/results`, { token: admin });
    expect(results.body.items).toHaveLength(0);
    const stranger = await call('POST', 'v1/device/results', {
      token: elsewhere.token,
      body: { authorizationId: grant.authorizationId, results: [{ serial: grant.serials[0], status: 'success' }] },
    });
    expect(stranger.status).toBe(404);
  });

  it('stores log lines once per retry, lists them, and refuses oversized log requests with 413', async () => {
    const { job } = await registerDirect();
    const lines = [
      { at: new Date().toISOString(), level: 'info', message: 'erase done' },
      { at: new Date().toISOString(), level: 'error', message: 'verify failed at 0x0800' },
    ];
    for (let i = 0; i < 2; i += 1) {
      const response = await call('POST', 'v1/device/logs', { token: programmer.token, body: { jobId: job.jobId, lines } });
      expect(response.status).toBe(200);
    }
    await feedSettled();
    const listed = await call('GET', `v1/jobs/${job.jobId}/logs`, { token: admin });
    expect(listed.body.items.map((l: { message: string }) => l.message).sort()).toEqual(['erase done', 'verify failed at 0x0800']);
    expect(listed.body.items[0].programmerId).toBe(programmer.programmerId);

    const huge = { jobId: job.jobId, lines: Array.from({ length: 40 }, () => ({ at: new Date().toISOString(), level: 'info', message: 'x'.repeat(8000) })) };
    const tooBig = await call('POST', 'v1/device/logs', { token: programmer.token, body: huge });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.code).toBe('payload_too_large');
    const tooMany = { jobId: job.jobId, lines: Array.from({ length: 1001 }, (_, i) => ({ at: new Date().toISOString(), level: 'debug', message: `line ${i}` })) };
    const manyResponse = await call('POST', 'v1/device/logs', { token: programmer.token, body: tooMany });
    expect(manyResponse.status).toBe(413);
    expect(manyResponse.body.error.details).toEqual({ field: 'lines', max: 1000 });
  });

  it('updates lastSeenAt when a programmer calls the device API', async () => {
    const fresh = await provision(admin, 'Fresh', factoryId);
    expect((await call('GET', `v1/programmers/${fresh.programmerId}`, { token: admin })).body.programmer.lastSeenAt).toBeNull();
    await call('GET', 'v1/device/jobs', { token: fresh.token });
    const seen = (await call('GET', `v1/programmers/${fresh.programmerId}`, { token: admin })).body.programmer.lastSeenAt;
    expect(Date.parse(seen)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('keeps device routes from account keys and account routes from programmers', async () => {
    expect((await call('GET', 'v1/device/jobs', { token: admin })).status).toBe(403);
    expect((await call('GET', 'v1/jobs', { token: programmer.token })).status).toBe(403);
  });
});
