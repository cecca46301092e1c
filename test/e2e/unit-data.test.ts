import { createHash, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { simulate } from '../../cli/simulate/simulator.js';
import { expectedUnitDataDigest } from '../../cli/simulate/tickets.js';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { call, createAccount, feedSettled, uniqueName } from '../support/api.js';
import { verifyWithJwks } from '../support/jwks.js';

interface UnitData {
  serial: string;
  fields: Record<string, string | string[]>;
}

/** api.md v1.1 "Per-unit data" on the deployed stack: serial pools and MAC blocks shared by jobs, unitData and the ticket's ud. */
describe('per-unit data: serial pools, MAC blocks, unitData and ud', () => {
  let admin: string;
  let author: string;
  let viewer: string;
  let factoryId: string;
  const programmers: (CredentialsFileType & { programmerId: string })[] = [];

  const register = async (extra: Record<string, unknown>) => {
    const response = await call('POST', 'v1/images', {
      token: author,
      body: { name: uniqueName('Units'), factoryId, contentSha256: createHash('sha256').update(randomUUID()).digest('hex'), sizeBytes: 100, delivery: 'direct', ...extra },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.job as { jobId: string; unitFields: unknown[]; onFailure: string };
  };
  const authorize = (token: string, jobId: string, units: number, nonce: string = randomUUID()) => call('POST', 'v1/device/authorizations', { token, body: { jobId, units, nonce } });
  /**
   * As a programmer does: a 5xx or 429 (16 cold starts at once can outlast the emulator's function
   * timeout on a busy machine) is retried with the same nonce, which must never hand out more.
   */
  const authorizeAsDevice = async (token: string, jobId: string, units: number, nonce: string) => {
    for (let attempt = 1; ; attempt += 1) {
      const response = await authorize(token, jobId, units, nonce);
      if ((response.status < 500 && response.status !== 429) || attempt === 5) return response;
    }
  };

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('Unit data'))).token;
    const key = async (role: string) => (await call('POST', 'v1/api-keys', { token: admin, body: { name: uniqueName(role), role } })).body.credentials.token as string;
    [author, viewer] = await Promise.all([key('author'), key('viewer')]);
    factoryId = (await call('POST', 'v1/factories', { token: admin, body: { name: uniqueName('Units line') } })).body.factory.factoryId;
    for (let i = 0; i < 4; i += 1) {
      const response = await call('POST', 'v1/programmers', { token: admin, body: { name: `Units ${i}`, hardwareSerial: randomUUID(), factoryId } });
      programmers.push({ ...response.body.credentials, programmerId: response.body.programmer.programmerId });
    }
  });

  it('creates serial pools for authors, shows them to viewers, and names `format` when it is bad', async () => {
    const created = await call('POST', 'v1/serial-pools', { token: author, body: { name: 'Boards', format: 'BRD-{chars:0-9A-Z}{n:04}{check:luhn}', start: 10 } });
    expect(created.status).toBe(400);
    expect(created.body.error.details.issues[0]).toMatchObject({ path: 'format' });
    expect(created.body.error.details.issues[0].message).toMatch(/luhn/);
    const good = await call('POST', 'v1/serial-pools', { token: author, body: { name: 'Boards', format: 'BRD-{chars:0-9A-Z}{n:04}{check:mod37-36}', start: 10 } });
    expect(good.status).toBe(201);
    expect(good.body.serialPool).toMatchObject({ name: 'Boards', start: 10, step: 1, capacity: 36 * 10_000 - 10, issued: 0, remaining: 36 * 10_000 - 10 });
    const id = good.body.serialPool.serialPoolId;
    expect((await call('GET', `v1/serial-pools/${id}`, { token: viewer })).body.serialPool).toEqual(good.body.serialPool);
    expect((await call('GET', 'v1/serial-pools', { token: viewer })).body.items.map((p: { serialPoolId: string }) => p.serialPoolId)).toContain(id);
    expect((await call('POST', 'v1/serial-pools', { token: viewer, body: { name: 'No', format: '{n}' } })).status).toBe(403);
    // An unpadded decimal's capacity is the largest safe integer; 2^53 once made this a 500 (found by schemathesis).
    const unbounded = await call('POST', 'v1/serial-pools', { token: author, body: { name: 'Unbounded', format: 'ÖÏh{n}£' } });
    expect(unbounded.status, JSON.stringify(unbounded.body)).toBe(201);
    expect(unbounded.body.serialPool.capacity).toBe(Number.MAX_SAFE_INTEGER);
    // A start past what the format can write (found by schemathesis): a pool with nothing to give, not a 400 the schema cannot foresee.
    const pastTheEnd = await call('POST', 'v1/serial-pools', { token: author, body: { name: 'Past the end', format: 'SN-{n:08}', start: 9007199254740990, step: 1 } });
    expect(pastTheEnd.status, JSON.stringify(pastTheEnd.body)).toBe(201);
    expect(pastTheEnd.body.serialPool).toMatchObject({ capacity: 0, issued: 0, remaining: 0 });
    await feedSettled();
    const audit = await call('GET', 'v1/audit', { token: admin });
    expect(audit.body.items.some((record: { action: string; target: { id: string } }) => record.action === 'serial_pool.create' && record.target.id === id)).toBe(true);
  });

  it('registers MAC blocks for admins only and never lets two of one account overlap', async () => {
    const first = await call('POST', 'v1/mac-blocks', { token: admin, body: { name: 'Eth A', first: '02:1B:C5:00:00:00', count: 1000 } });
    expect(first.status).toBe(201);
    expect(first.body.macBlock).toMatchObject({ first: '02:1B:C5:00:00:00', last: '02:1B:C5:00:03:E7', count: 1000, remaining: 1000 });
    const overlap = await call('POST', 'v1/mac-blocks', { token: admin, body: { name: 'Eth B', first: '02-1B-C5-00-03-E7', count: 10 } });
    expect(overlap.status).toBe(409);
    expect(overlap.body.error).toMatchObject({ code: 'mac_block_overlap', details: { macBlockId: first.body.macBlock.macBlockId } });
    expect((await call('POST', 'v1/mac-blocks', { token: admin, body: { name: 'Eth C', first: '021BC50003E8', count: 10 } })).status).toBe(201);
    expect((await call('POST', 'v1/mac-blocks', { token: author, body: { name: 'Eth D', first: '02:1B:C6:00:00:00', count: 10 } })).status).toBe(403);
    const bad = await call('POST', 'v1/mac-blocks', { token: admin, body: { name: 'Eth E', first: 'FF:FF:FF:FF:FF:F0', count: 17 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('count');
  });

  it('two jobs on one pool and one MAC block, 16 concurrent programmers: no value twice, every ticket signs its unitData, a retried nonce gets the same bytes', async () => {
    const pool = (await call('POST', 'v1/serial-pools', { token: author, body: { name: 'Shared', format: 'SH{X:5}{check:mod37-36}' } })).body.serialPool;
    const block = (await call('POST', 'v1/mac-blocks', { token: admin, body: { name: 'Shared eth', first: '0A:00:00:00:00:00', count: 4096 } })).body.macBlock;
    const fields = (perUnit: number) => [
      { name: 'board', source: { serialPool: pool.serialPoolId } },
      { name: 'eth', source: { macBlock: block.macBlockId, perUnit } },
    ];
    const jobs = [await register({ unitFields: fields(1) }), await register({ unitFields: fields(2) })];
    expect(jobs[1]!.unitFields).toEqual(fields(2));
    const requests = Array.from({ length: 16 }, (_, i) => ({ programmer: programmers[i % 4]!, jobId: jobs[i % 2]!.jobId, units: (i % 4) + 1, nonce: randomUUID() }));
    const responses = await Promise.all(requests.map((r) => authorizeAsDevice(r.programmer.token, r.jobId, r.units, r.nonce)));
    // 200: a retry found what its first attempt had granted before the attempt's answer was lost.
    expect(responses.every((r) => r.status === 201 || r.status === 200)).toBe(true);
    const boards: string[] = [];
    const addresses: string[] = [];
    for (const [i, { body }] of responses.entries()) {
      const unitData = body.unitData as UnitData[];
      expect(unitData.map((unit) => unit.serial)).toEqual(body.serials);
      for (const unit of unitData) {
        boards.push(unit.fields.board as string);
        addresses.push(...(unit.fields.eth as string[]));
        expect(unit.fields.eth).toHaveLength(i % 2 === 0 ? 1 : 2);
      }
      const claims = await verifyWithJwks(body.ticket);
      expect(claims.ud).toBe(expectedUnitDataDigest(unitData));
    }
    expect(new Set(boards).size).toBe(boards.length);
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(boards.every((board) => /^SH[0-9A-F]{5}[0-9A-Z]$/.test(board))).toBe(true);
    // A retried attempt may have burned values (taken, then its answer lost), never more than that.
    expect((await call('GET', `v1/serial-pools/${pool.serialPoolId}`, { token: viewer })).body.serialPool.issued).toBeGreaterThanOrEqual(boards.length);
    expect((await call('GET', `v1/mac-blocks/${block.macBlockId}`, { token: viewer })).body.macBlock.issued).toBeGreaterThanOrEqual(addresses.length);

    const replay = await authorizeAsDevice(requests[3]!.programmer.token, requests[3]!.jobId, requests[3]!.units, requests[3]!.nonce);
    expect(replay.status).toBe(200);
    expect(JSON.stringify(replay.body)).toBe(JSON.stringify(responses[3]!.body));
  });

  it('refuses what a pool cannot fill with 409 serials_exhausted and counts nothing of it', async () => {
    const pool = (await call('POST', 'v1/serial-pools', { token: author, body: { name: 'Tiny', format: 'T{chars:AB}' } })).body.serialPool;
    const job = await register({ unitFields: [{ name: 'sn', source: { serialPool: pool.serialPoolId } }] });
    expect((await authorize(programmers[0]!.token, job.jobId, 1)).status).toBe(201);
    const refused = await authorize(programmers[0]!.token, job.jobId, 2);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'serials_exhausted', details: { serialPoolId: pool.serialPoolId, remaining: 1 } });
    expect((await call('GET', `v1/jobs/${job.jobId}`, { token: viewer })).body.job.counters.authorized).toBe(1);
  });

  it('PATCH /v1/jobs/{jobId}: fields before the first authorization only, limits at any time, other accounts\' pools are 404', async () => {
    const pool = (await call('POST', 'v1/serial-pools', { token: author, body: { name: 'Late', format: 'L{n:06}' } })).body.serialPool;
    const job = await register({});
    const patched = await call('PATCH', `v1/jobs/${job.jobId}`, { token: author, body: { unitFields: [{ name: 'sn', source: { serialPool: pool.serialPoolId } }], onFailure: 'return', restrictions: { maxCount: 10 } } });
    expect(patched.status).toBe(200);
    expect(patched.body.job).toMatchObject({ onFailure: 'return', unitFields: [{ name: 'sn', source: { serialPool: pool.serialPoolId } }], restrictions: { maxCount: 10 } });
    const granted = await authorize(programmers[1]!.token, job.jobId, 3);
    expect(granted.body.unitData.map((unit: UnitData) => unit.fields.sn)).toEqual(['L000000', 'L000001', 'L000002']);
    const started = await call('PATCH', `v1/jobs/${job.jobId}`, { token: author, body: { unitFields: [] } });
    expect(started.status).toBe(409);
    expect(started.body.error.code).toBe('job_started');
    const below = await call('PATCH', `v1/jobs/${job.jobId}`, { token: author, body: { restrictions: { maxCount: 2 } } });
    expect(below.status).toBe(409);
    expect(below.body.error).toMatchObject({ code: 'invalid_transition', details: { authorized: 3 } });
    expect((await call('PATCH', `v1/jobs/${job.jobId}`, { token: author, body: { restrictions: { maxCount: 3 } } })).body.job.counters.remaining).toBe(0);
    expect((await call('PATCH', `v1/jobs/${job.jobId}`, { token: viewer, body: { restrictions: { maxCount: 3 } } })).status).toBe(403);

    const stranger = (await createAccount(uniqueName('Stranger'))).token;
    const theirs = (await call('POST', 'v1/serial-pools', { token: stranger, body: { name: 'Theirs', format: '{n:4}' } })).body.serialPool;
    expect((await call('GET', `v1/serial-pools/${theirs.serialPoolId}`, { token: admin })).status).toBe(404);
    const foreign = await call('POST', 'v1/images', {
      token: author,
      body: { name: 'Foreign', factoryId, contentSha256: 'e'.repeat(64), sizeBytes: 1, delivery: 'direct', unitFields: [{ name: 'sn', source: { serialPool: theirs.serialPoolId } }] },
    });
    expect(foreign.status).toBe(404);
    await feedSettled();
    const audit = await call('GET', 'v1/audit', { token: admin });
    expect(audit.body.items.filter((record: { action: string; target: { id: string } }) => record.action === 'job.update' && record.target.id === job.jobId)).toHaveLength(2);
  });

  it('the simulator programs a job with unit fields, checking every ticket\'s ud', async () => {
    const pool = (await call('POST', 'v1/serial-pools', { token: author, body: { name: 'Simulated', format: 'S{n:05}{check:luhn}' } })).body.serialPool;
    const job = await register({ unitFields: [{ name: 'sn', source: { serialPool: pool.serialPoolId } }], restrictions: { maxCount: 30 } });
    const summary = await simulate({ programmers: programmers.slice(0, 2), jobId: job.jobId, batch: 4, concurrency: 2, programMs: 0, failureRate: 0, seed: 'units', sendLogs: false });
    expect(summary).toMatchObject({ ok: true, units: 30 });
    expect(summary.ticketsVerified).toBe(summary.authorizations);
    // A busy device function holds a few values beyond what it handed out (README "Per-unit data"): issued may exceed 30, never fall short.
    expect((await call('GET', `v1/serial-pools/${pool.serialPoolId}`, { token: viewer })).body.serialPool.issued).toBeGreaterThanOrEqual(30);
  });

  it('onFailure return re-issues a failed unit\'s values exactly once', async () => {
    const pool = (await call('POST', 'v1/serial-pools', { token: author, body: { name: 'Returned', format: 'RE{n:05}' } })).body.serialPool;
    const job = await register({ unitFields: [{ name: 'sn', source: { serialPool: pool.serialPoolId } }], onFailure: 'return', restrictions: { maxCount: 20 } });
    const [holder] = programmers as [CredentialsFileType & { programmerId: string }];
    const first = (await authorizeAsDevice(holder.token, job.jobId, 4, randomUUID())).body;
    const failed = first.unitData[1] as UnitData;
    const report = { authorizationId: first.authorizationId, results: first.serials.map((serial: string, i: number) => ({ serial, status: i === 1 ? 'failure' : 'success' })) };
    expect((await call('POST', 'v1/device/results', { token: holder.token, body: report })).status).toBe(200);
    // A retried report counts nothing twice and returns nothing twice.
    expect((await call('POST', 'v1/device/results', { token: holder.token, body: report })).body).toMatchObject({ recorded: 0, duplicates: 4 });
    expect((await call('GET', `v1/jobs/${job.jobId}`, { token: viewer })).body.job.counters).toMatchObject({ authorized: 3, succeeded: 3, failed: 1, returned: 1, remaining: 17 });
    const next = (await authorizeAsDevice(holder.token, job.jobId, 3, randomUUID())).body;
    const values = next.unitData.map((unit: UnitData) => unit.fields.sn);
    expect(values).toEqual([failed.fields.sn, 'RE00004', 'RE00005']);
    const later = (await authorizeAsDevice(holder.token, job.jobId, 3, randomUUID())).body;
    // Fresh values, none handed out before: the next ones of the pool, or of what a busy device function holds.
    const laterValues = later.unitData.map((unit: UnitData) => unit.fields.sn as string);
    expect(new Set([...first.unitData.map((unit: UnitData) => unit.fields.sn), ...values, ...laterValues]).size).toBe(4 + 3 + 3 - 1);
    expect(laterValues.every((value: string) => value > 'RE00005')).toBe(true);
    expect((await call('GET', `v1/serial-pools/${pool.serialPoolId}`, { token: viewer })).body.serialPool.issued).toBeGreaterThanOrEqual(9);
  });
});

