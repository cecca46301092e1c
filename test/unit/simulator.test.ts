import { createHash } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { unitOutcome } from '../../cli/simulate/prng.js';
import { simulate } from '../../cli/simulate/simulator.js';
import { percentile, summarize } from '../../cli/simulate/stats.js';

const ENDPOINT = 'http://api.test/';
const NOW = '2026-01-01T00:00:00.000Z';
const IMAGE_BYTES = Buffer.from('encrypted image bytes '.repeat(100));
const IMAGE_SHA256 = createHash('sha256').update(IMAGE_BYTES).digest('hex');

let signingKey: CryptoKey;
let otherKey: CryptoKey;
let publicJwk: Record<string, unknown>;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
});

const programmer = (n: number) => ({ endpoint: ENDPOINT, accountId: 'acc_1', keyId: `key_p${n}`, token: `tok-p${n}`, role: 'programmer' as const, programmerId: `prg_${n}` });

interface FakeOptions {
  maxCount: number | null;
  delivery?: 'direct' | 'cloud';
  /** Spoils the ticket of the n-th authorization. */
  tamper?: (claims: Record<string, unknown>) => { claims: Record<string, unknown>; key?: CryptoKey } | undefined;
  corruptDownload?: boolean;
  /** Pauses the job after this many authorizations. */
  pauseAfter?: number;
}

/** A device API in memory with the contract's rules for limits, serials and refusals. */
function fakeDeviceApi(options: FakeOptions) {
  const job = { jobId: 'job_1', imageId: 'img_1', factoryId: 'fac_1', name: 'Motor v1', status: 'active', maxCount: options.maxCount, authorized: 0, nextSerial: 1000 };
  const grants: { programmerId: string; serials: string[] }[] = [];
  const results: { programmerId: string; authorizationId: string; serial: string; status: string }[] = [];
  const releases: string[] = [];
  const logs: string[] = [];
  const programmerOf = (headers: Record<string, string>) => `prg_${headers.authorization!.replace('Bearer tok-p', '')}`;
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const refuse = (code: string, details?: Record<string, unknown>) => json(409, { error: { code, message: code, details } });

  const fetch = (async (input: URL | RequestInfo, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    const route = `${method} ${url.pathname}`;
    if (url.host === 's3.test') {
      const bytes = Buffer.from(IMAGE_BYTES);
      if (options.corruptDownload) bytes[0] = bytes[0]! ^ 0xff;
      return new Response(bytes, { status: 200 });
    }
    if (route === 'GET /v1/signing-keys') return json(200, { keys: [publicJwk] });
    if (route === 'GET /v1/device/jobs') {
      const image = { imageId: 'img_1', contentSha256: IMAGE_SHA256, sizeBytes: IMAGE_BYTES.length };
      const items = job.status === 'active' ? [{ ...job, delivery: options.delivery ?? 'direct', counters: { remaining: job.maxCount }, image }] : [];
      return json(200, { items, nextCursor: null });
    }
    if (route === 'POST /v1/device/jobs/job_1/download-url') {
      if (job.status === 'paused') return refuse('job_paused');
      return json(200, { url: 'http://s3.test/img_1', expiresAt: NOW, sha256: IMAGE_SHA256, sizeBytes: IMAGE_BYTES.length });
    }
    if (route === 'POST /v1/device/authorizations') {
      if (job.status === 'paused') return refuse('job_paused');
      const remaining = job.maxCount === null ? null : job.maxCount - job.authorized;
      if (remaining !== null && body.units > remaining) return refuse('job_completed', { remaining });
      const serials = Array.from({ length: body.units }, (_, i) => `SN-${job.nextSerial + i}`);
      job.nextSerial += body.units;
      job.authorized += body.units;
      const programmerId = programmerOf(headers);
      const authorizationId = `auth_${grants.length + 1}`;
      grants.push({ programmerId, serials });
      if (options.pauseAfter !== undefined && grants.length >= options.pauseAfter) job.status = 'paused';
      const exp = Math.floor(Date.now() / 1000) + 600;
      // Sent in the order a server might use; `ud` is over the keys sorted, written out here by hand.
      const unitData = serials.map((serial, i) => ({ serial, fields: { mac: [`02:00:00:00:00:${String(i).padStart(2, '0')}`], board: `B-${serial}` } }));
      const sortedJson = `[${serials.map((serial, i) => `{"fields":{"board":"B-${serial}","mac":["02:00:00:00:00:${String(i).padStart(2, '0')}"]},"serial":"${serial}"}`).join(',')}]`;
      const ud = createHash('sha256').update(sortedJson).digest('base64url');
      let claims: Record<string, unknown> = { iss: 'flashline', sub: programmerId, acct: 'acc_1', job: 'job_1', img: 'img_1', units: body.units, serials, ud, nonce: body.nonce, exp, iat: exp - 600, jti: authorizationId };
      let key = signingKey;
      const spoiled = options.tamper?.(claims);
      if (spoiled) ({ claims, key = signingKey } = spoiled);
      const ticket = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'flashline-ticket+jwt' }).sign(key);
      return json(201, { authorizationId, jobId: 'job_1', units: body.units, serials, unitData, expiresAt: new Date(exp * 1000).toISOString(), ticket });
    }
    if (route === 'POST /v1/device/results') {
      for (const result of body.results) results.push({ programmerId: programmerOf(headers), authorizationId: body.authorizationId, serial: result.serial, status: result.status });
      return json(200, { recorded: body.results.length, duplicates: 0 });
    }
    const release = /^POST \/v1\/device\/authorizations\/(auth_\d+)\/release$/.exec(route);
    if (release) {
      const grant = grants[Number(release[1]!.slice('auth_'.length)) - 1]!;
      const reported = results.filter((r) => r.authorizationId === release[1]).length;
      job.authorized -= grant.serials.length - reported;
      releases.push(release[1]!);
      return json(200, { authorizationId: release[1], units: grant.serials.length, reported, returned: grant.serials.length - reported });
    }
    if (route === 'POST /v1/device/logs') {
      logs.push(...body.lines.map((line: { message: string }) => line.message));
      return json(200, { accepted: body.lines.length });
    }
    return json(404, { error: { code: 'not_found', message: route } });
  }) as typeof globalThis.fetch;
  return { fetch, job, grants, results, logs, releases };
}

describe('simulate', () => {
  it('three programmers end with exactly the count limit: distinct serials, every unit reported, verified tickets', async () => {
    const api = fakeDeviceApi({ maxCount: 25, delivery: 'cloud' });
    const summary = await simulate({ programmers: [programmer(1), programmer(2), programmer(3)], batch: 4, concurrency: 2, programMs: 0, fetch: api.fetch, retry: { retries: 0 } });
    expect(summary).toMatchObject({ ok: true, stopReason: 'job_completed', units: 25, authorizedUnits: 25, successes: 25, failures: 0, imagesVerified: 3, errors: [] });
    expect(summary.ticketsVerified).toBe(summary.authorizations);
    const serials = api.results.map((r) => r.serial);
    expect(new Set(serials).size).toBe(25);
    expect(serials.sort()).toEqual(api.grants.flatMap((g) => g.serials).sort());
    // 25 is not a multiple of 4: somebody was told `remaining` and asked again for exactly that.
    expect(summary.refusals.job_completed).toBeGreaterThan(0);
    expect(api.grants.some((g) => g.serials.length === 1)).toBe(true);
    expect(summary.latency.authorizeProgramming?.count).toBe(summary.authorizations + summary.refusals.job_completed!);
    expect(Object.keys(summary.latency)).toEqual(expect.arrayContaining(['listDeviceJobs', 'createDownloadUrl', 'imageDownload', 'getSigningKeys', 'reportResults', 'appendLogs']));
    expect(summary.requests).toBe(Object.values(summary.latency).reduce((sum, l) => sum + l.count, 0));
  });

  it('programs exactly --units when the job has no limit', async () => {
    const api = fakeDeviceApi({ maxCount: null });
    const summary = await simulate({ programmers: [programmer(1)], units: 10, batch: 4, concurrency: 3, programMs: 0, fetch: api.fetch });
    expect(summary).toMatchObject({ ok: true, stopReason: 'units_done', units: 10, authorizedUnits: 10 });
    expect(api.grants.map((g) => g.serials.length).sort()).toEqual([2, 4, 4]);
  });

  it('decides successes and failures by seed and serial, whatever the concurrency', async () => {
    const failedSerials = async (concurrency: number) => {
      const api = fakeDeviceApi({ maxCount: 60 });
      const summary = await simulate({ programmers: [programmer(1)], batch: 7, concurrency, failureRate: 0.3, seed: 'line-7', programMs: 0, fetch: api.fetch });
      expect(summary.failures).toBe(api.results.filter((r) => r.status === 'failure').length);
      return api.results.filter((r) => r.status === 'failure').map((r) => r.serial).sort();
    };
    const once = await failedSerials(1);
    expect(once.length).toBeGreaterThan(0);
    expect(once.length).toBeLessThan(60);
    expect(await failedSerials(4)).toEqual(once);
    expect(unitOutcome('line-7', 'SN-1000', 0.3)).toEqual(unitOutcome('line-7', 'SN-1000', 0.3));
    expect(unitOutcome('x', 'SN-1', 0)).toEqual({ status: 'success' });
    expect(unitOutcome('x', 'SN-1', 1)).toMatchObject({ status: 'failure', errorCode: expect.any(String) });
  });

  it('never programs on a ticket for someone else, signed by another key, or not signing the unit data it came with', async () => {
    for (const tamper of [
      (claims: Record<string, unknown>) => ({ claims: { ...claims, sub: 'prg_other' } }),
      (claims: Record<string, unknown>) => ({ claims, key: otherKey }),
      (claims: Record<string, unknown>) => ({ claims: { ...claims, ud: createHash('sha256').update('[]').digest('base64url') } }),
    ]) {
      const api = fakeDeviceApi({ maxCount: 10, tamper });
      const summary = await simulate({ programmers: [programmer(1)], batch: 5, programMs: 0, fetch: api.fetch });
      expect(summary).toMatchObject({ ok: false, stopReason: 'error', units: 0, ticketsVerified: 0 });
      expect(summary.errors.join()).toMatch(/ticket/);
      expect(api.results).toEqual([]);
    }
  });

  it('refuses a downloaded image whose SHA-256 is not the registered one, before any authorization', async () => {
    const api = fakeDeviceApi({ maxCount: 10, delivery: 'cloud', corruptDownload: true });
    const summary = await simulate({ programmers: [programmer(1)], programMs: 0, fetch: api.fetch });
    expect(summary).toMatchObject({ ok: false, stopReason: 'error', imagesVerified: 0, authorizations: 0 });
    expect(summary.errors.join()).toMatch(/SHA-256/);
  });

  it('stops cleanly on job_paused: what was authorized is reported or released, nothing is left held', async () => {
    const api = fakeDeviceApi({ maxCount: null, pauseAfter: 3 });
    const summary = await simulate({ programmers: [programmer(1), programmer(2)], batch: 5, concurrency: 2, programMs: 5, fetch: api.fetch });
    expect(summary).toMatchObject({ ok: false, stopReason: 'job_paused', errors: [] });
    expect(summary.refusals.job_paused).toBeGreaterThan(0);
    expect(summary.units + summary.returnedUnits).toBe(api.grants.reduce((sum, g) => sum + g.serials.length, 0));
    expect(api.results).toHaveLength(summary.units);
    expect(api.job.authorized).toBe(summary.units);
  });

  it('releases the units it did not program when interrupted', async () => {
    const api = fakeDeviceApi({ maxCount: null });
    const controller = new AbortController();
    const running = simulate({ programmers: [programmer(1)], batch: 50, concurrency: 1, programMs: 10, fetch: api.fetch, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 150));
    controller.abort();
    const summary = await running;
    expect(summary.stopReason).toBe('interrupted');
    expect(api.releases.length).toBeGreaterThan(0);
    expect(summary.returnedUnits).toBeGreaterThan(0);
    expect(api.job.authorized).toBe(summary.units);
  });

  it('names the refusal when the job is not listed (paused before the start)', async () => {
    const api = fakeDeviceApi({ maxCount: 10 });
    api.job.status = 'paused';
    const summary = await simulate({ programmers: [programmer(1)], jobId: 'job_1', programMs: 0, fetch: api.fetch });
    expect(summary).toMatchObject({ ok: false, stopReason: 'job_paused', refusals: { job_paused: 1 }, authorizations: 0 });
  });

  it('refuses account credentials and bad settings before any request', async () => {
    const api = fakeDeviceApi({ maxCount: 10 });
    await expect(simulate({ programmers: [{ ...programmer(1), role: 'admin' }], fetch: api.fetch })).rejects.toThrow(/not programmer credentials/);
    await expect(simulate({ programmers: [programmer(1)], batch: 1001, fetch: api.fetch })).rejects.toThrow(/batch/);
    expect(api.grants).toEqual([]);
  });
});

describe('latency statistics', () => {
  it('uses nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([50, 95, 99, 100].map((p) => percentile(values, p))).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
    expect(summarize([3, 1, 2])).toEqual({ count: 3, p50: 2, p95: 3, p99: 3, max: 3, mean: 2 });
  });
});
