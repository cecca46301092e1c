import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createAccount, uniqueName } from '../support/api.js';
import { flashline } from '../support/cli.js';
import { verifyWithJwks } from '../support/jwks.js';

/**
 * A job's manifest past 1 MiB (README "Traceability"): a large job's lines would outgrow a
 * Lambda response, so they are stored in S3 and handed out as a presigned URL, under the same
 * signature; the CLI follows the URL.
 */
describe('the manifest of a large job', () => {
  const UNITS_PER_AUTHORIZATION = 500;
  const AUTHORIZATIONS = 8;
  let dir: string;
  let admin: string;
  let jobId: string;

  beforeAll(async () => {
    const account = await createAccount(uniqueName('Large manifest'));
    admin = account.token;
    dir = mkdtempSync(path.join(tmpdir(), 'flashline-manifest-'));
    writeFileSync(path.join(dir, 'admin.json'), JSON.stringify(account), { mode: 0o600 });
    const factoryId = (await call('GET', 'v1/account', { token: admin })).body.account.defaultFactoryId as string;
    const registered = await call('POST', 'v1/images', {
      token: admin,
      body: { name: uniqueName('Large'), factoryId, contentSha256: createHash('sha256').update(randomUUID()).digest('hex'), sizeBytes: 100, delivery: 'direct' },
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    jobId = registered.body.job.jobId;
    const programmer = await call('POST', 'v1/programmers', { token: admin, body: { name: 'Gang', hardwareSerial: randomUUID(), factoryId } });
    const device = programmer.body.credentials.token as string;
    for (let i = 0; i < AUTHORIZATIONS; i += 1) {
      const granted = await call('POST', 'v1/device/authorizations', { token: device, body: { jobId, units: UNITS_PER_AUTHORIZATION, nonce: randomUUID() } });
      expect(granted.status, JSON.stringify(granted.body)).toBe(201);
      const results = (granted.body.serials as string[]).map((serial) => ({ serial, status: 'success' }));
      const reported = await call('POST', 'v1/device/results', { token: device, body: { authorizationId: granted.body.authorizationId, results } });
      expect(reported.status, JSON.stringify(reported.body)).toBe(200);
    }
  });

  it('hands out lines over 1 MiB as a presigned URL whose bytes the signature covers', async () => {
    const answered = await call('GET', `v1/jobs/${jobId}/manifest`, { token: admin });
    expect(answered.status, JSON.stringify(answered.body).slice(0, 500)).toBe(200);
    expect(answered.body.manifest).toBeUndefined();
    expect(answered.body.units).toBe(UNITS_PER_AUTHORIZATION * AUTHORIZATIONS);
    expect(Date.parse(answered.body.manifestUrlExpiresAt) - Date.now()).toBeGreaterThan(10 * 60_000);

    const download = await fetch(answered.body.manifestUrl as string);
    expect(download.status).toBe(200);
    const lines = await download.text();
    expect(Buffer.byteLength(lines, 'utf8')).toBeGreaterThan(1024 * 1024);
    expect(lines.trim().split('\n')).toHaveLength(UNITS_PER_AUTHORIZATION * AUTHORIZATIONS);
    const sha256 = createHash('sha256').update(lines, 'utf8').digest('hex');
    expect(answered.body.sha256).toBe(sha256);
    expect(await verifyWithJwks(answered.body.signature)).toMatchObject({ job: jobId, units: UNITS_PER_AUTHORIZATION * AUTHORIZATIONS, sha256 });
  });

  it('the CLI follows the URL, verifies and writes the lines', async () => {
    const run = await flashline(['jobs', 'manifest', jobId, '--verify', '--out', 'manifest.jsonl', '--credentials', 'admin.json'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/Manifest verified: 4000 unit\(s\)/);
    expect(readFileSync(path.join(dir, 'manifest.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4000);
  });
});
