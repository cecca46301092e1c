import { createHash, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createAccount, uniqueName } from '../support/api.js';

/** api.md v1.1 "Leases" on the deployed stack, and the holes closed on the same path. */
describe('leases: validity, release, late results', () => {
  let admin: string;
  let factoryId: string;
  let programmer: { token: string; programmerId: string };
  let colleague: { token: string; programmerId: string };

  const provision = async (name: string) => {
    const response = await call('POST', 'v1/programmers', { token: admin, body: { name, hardwareSerial: randomUUID(), factoryId } });
    expect(response.status).toBe(201);
    return { token: response.body.credentials.token, programmerId: response.body.programmer.programmerId };
  };

  const register = async (extra: Record<string, unknown> = {}) => {
    const response = await call('POST', 'v1/images', {
      token: admin,
      body: { name: uniqueName('Lease'), factoryId, contentSha256: createHash('sha256').update(randomUUID()).digest('hex'), sizeBytes: 100, delivery: 'direct', ...extra },
    });
    expect(response.status).toBe(201);
    return response.body.job as { jobId: string; restrictions: { maxLeaseSeconds: number } };
  };

  const authorize = (who: { token: string }, body: Record<string, unknown>) => call('POST', 'v1/device/authorizations', { token: who.token, body: { nonce: randomUUID(), ...body } });
  const counters = async (jobId: string) => (await call('GET', `v1/jobs/${jobId}`, { token: admin })).body.job.counters;

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('Leases'))).token;
    factoryId = (await call('POST', 'v1/factories', { token: admin, body: { name: 'Lease line' } })).body.factory.factoryId;
    programmer = await provision('Holder');
    colleague = await provision('Colleague');
  });

  it('gives ten minutes by default, honours validSeconds within maxLeaseSeconds, and refuses more', async () => {
    const job = await register({ restrictions: { maxCount: 100, maxLeaseSeconds: 86_400 } });
    expect(job.restrictions.maxLeaseSeconds).toBe(86_400);
    const before = Date.now();
    const standard = await authorize(programmer, { jobId: job.jobId, units: 1 });
    expect(standard.status).toBe(201);
    expect(Date.parse(standard.body.expiresAt) - before).toBeGreaterThan(590_000);
    expect(Date.parse(standard.body.expiresAt) - before).toBeLessThan(620_000);

    const long = await authorize(programmer, { jobId: job.jobId, units: 1, validSeconds: 86_400 });
    expect(long.status).toBe(201);
    expect(Date.parse(long.body.expiresAt) - before).toBeGreaterThan(86_390_000);

    const tooLong = await authorize(programmer, { jobId: job.jobId, units: 1, validSeconds: 86_401 });
    expect(tooLong.status).toBe(409);
    expect(tooLong.body.error).toMatchObject({ code: 'lease_too_long', details: { maxLeaseSeconds: 86_400 } });
    const standardJob = await register();
    const refused = await authorize(programmer, { jobId: standardJob.jobId, units: 1, validSeconds: 601 });
    expect(refused.status).toBe(409);
  });

  it('never lets a lease outlive the job', async () => {
    const notAfter = new Date(Date.now() + 120_000).toISOString();
    const job = await register({ restrictions: { notAfter, maxLeaseSeconds: 3_600 } });
    const response = await authorize(programmer, { jobId: job.jobId, units: 1, validSeconds: 3_600 });
    expect(response.status).toBe(201);
    expect(Date.parse(response.body.expiresAt)).toBeLessThanOrEqual(Date.parse(notAfter));
  });

  it('releases the unreported units back to the job, once, and refuses late results for them', async () => {
    const job = await register({ restrictions: { maxCount: 10 } });
    const granted = await authorize(programmer, { jobId: job.jobId, units: 8 });
    expect(granted.status).toBe(201);
    const { authorizationId, serials } = granted.body as { authorizationId: string; serials: string[] };
    const reported = await call('POST', 'v1/device/results', {
      token: programmer.token,
      body: { authorizationId, results: serials.slice(0, 3).map((serial) => ({ serial, status: 'success' })) },
    });
    expect(reported.status).toBe(200);
    expect(await counters(job.jobId)).toMatchObject({ authorized: 8, returned: 0, remaining: 2 });
    // Someone else's programmer may not end it: it is not theirs (404, as for any foreign object).
    expect((await call('POST', `v1/device/authorizations/${authorizationId}/release`, { token: colleague.token })).status).toBe(404);

    const release = await call('POST', `v1/device/authorizations/${authorizationId}/release`, { token: programmer.token });
    expect(release.status).toBe(200);
    expect(release.body).toEqual({ authorizationId, units: 8, reported: 3, returned: 5 });
    const again = await call('POST', `v1/device/authorizations/${authorizationId}/release`, { token: programmer.token, body: {} });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(release.body);
    expect(await counters(job.jobId)).toMatchObject({ authorized: 3, returned: 5, succeeded: 3, remaining: 7 });

    const late = await call('POST', 'v1/device/results', { token: programmer.token, body: { authorizationId, results: [{ serial: serials[6], status: 'success' }] } });
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'authorization_released', details: { serials: [serials[6]] } });
    const replay = await call('POST', 'v1/device/results', { token: programmer.token, body: { authorizationId, results: [{ serial: serials[0], status: 'success' }] } });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ recorded: 0, duplicates: 1 });

    // The returned units are the job's again: 7 remain, and new serials follow (returned ones are not reused).
    const next = await authorize(colleague, { jobId: job.jobId, units: 7 });
    expect(next.status).toBe(201);
    expect(next.body.serials.some((serial: string) => serials.includes(serial))).toBe(false);
    expect((await authorize(colleague, { jobId: job.jobId, units: 1 })).body.error).toMatchObject({ code: 'job_completed', details: { remaining: 0 } });
  });

  it('refuses results once the programmer is disabled, and log lines naming another programmer’s authorization', async () => {
    const job = await register();
    const mine = await provision('Soon disabled');
    const granted = await authorize(mine, { jobId: job.jobId, units: 2 });
    const theirs = await authorize(colleague, { jobId: job.jobId, units: 1 });

    const foreignLine = await call('POST', 'v1/device/logs', {
      token: mine.token,
      body: { jobId: job.jobId, authorizationId: theirs.body.authorizationId, lines: [{ at: new Date().toISOString(), level: 'info', message: 'not mine' }] },
    });
    expect(foreignLine.status).toBe(404);
    expect(foreignLine.body.error.code).toBe('not_found');
    const ownLine = await call('POST', 'v1/device/logs', {
      token: mine.token,
      body: { jobId: job.jobId, authorizationId: granted.body.authorizationId, lines: [{ at: new Date().toISOString(), level: 'info', message: 'mine' }] },
    });
    expect(ownLine.status).toBe(200);

    expect((await call('PATCH', `v1/programmers/${mine.programmerId}`, { token: admin, body: { status: 'disabled' } })).status).toBe(200);
    const results = await call('POST', 'v1/device/results', {
      token: mine.token,
      body: { authorizationId: granted.body.authorizationId, results: [{ serial: granted.body.serials[0], status: 'success' }] },
    });
    expect(results.status).toBe(409);
    expect(results.body.error.code).toBe('programmer_disabled');
  });

  it('refuses serial settings that could repeat or overflow a serial at registration', async () => {
    const overflow = await call('POST', 'v1/images', {
      token: admin,
      body: { name: 'x', factoryId, contentSha256: 'a'.repeat(64), sizeBytes: 1, delivery: 'direct', serials: { start: Number.MAX_SAFE_INTEGER - 10 }, restrictions: { maxCount: 100 } },
    });
    expect(overflow.status).toBe(400);
    expect(overflow.body.error.details.issues[0].path).toBe('serials.start');
    const tooLong = await call('POST', 'v1/images', {
      token: admin,
      body: { name: 'x', factoryId, contentSha256: 'a'.repeat(64), sizeBytes: 1, delivery: 'direct', serials: { start: 1, format: `${'W'.repeat(56)}-{n:08}` } },
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.details.issues[0].path).toBe('serials.format');
  });
});
