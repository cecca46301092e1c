import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createAccount, feedSettled, uniqueName } from '../support/api.js';
import { verifyWithJwks } from '../support/jwks.js';

/**
 * The seed's whole story over HTTP on the deployed stack: a cloud-delivered image with a count
 * limit of 40, uploaded through a presigned URL, verified, downloaded, and then programmed by 8
 * programmers at once until the limit refuses them.
 */
describe('cloud-connected image: publish, distribute, authorize, report, steer', () => {
  const imageBytes = randomBytes(64 * 1024);
  const sha256 = createHash('sha256').update(imageBytes).digest('hex');
  let admin: string;
  let author: string;
  let factoryId: string;
  let keyHolder: { token: string; programmerId: string };
  let keyless: { token: string; programmerId: string };
  let jobId: string;
  let imageId: string;
  let binding: string;
  let downloadUrl: string;

  const waitForImage = async (id: string, status: string) => {
    for (let i = 0; i < 100; i += 1) {
      const response = await call('GET', `v1/images/${id}`, { token: author });
      if (response.body.image.status === status) return response.body.image;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`image ${id} never became ${status}`);
  };

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('Seed'))).token;
    const key = await call('POST', 'v1/api-keys', { token: admin, body: { name: 'image tool', role: 'author' } });
    author = key.body.credentials.token;
    const factory = await call('POST', 'v1/factories', { token: admin, body: { name: 'East Coast Factory' } });
    expect(factory.status).toBe(201);
    factoryId = factory.body.factory.factoryId;
    const provision = async (name: string, encryptionKeyIds: string[]) => {
      const response = await call('POST', 'v1/programmers', { token: admin, body: { name, hardwareSerial: randomUUID(), factoryId, encryptionKeyIds } });
      expect(response.status).toBe(201);
      return { token: response.body.credentials.token, programmerId: response.body.programmer.programmerId };
    };
    keyHolder = await provision('Cyclone 1', ['key-east-1']);
    keyless = await provision('Cyclone 2', []);
  });

  it('registers a cloud image: binding signed by KMS, job listed, upload URL given', async () => {
    const response = await call('POST', 'v1/images', {
      token: author,
      body: {
        name: 'Motor controller v1.2',
        factoryId,
        contentSha256: sha256,
        sizeBytes: imageBytes.length,
        delivery: 'cloud',
        encryptionKeyId: 'key-east-1',
        restrictions: { maxCount: 40 },
        serials: { start: 1000, format: 'SN-{n:08}' },
        steps: [{ kind: 'erase' }, { kind: 'program' }, { kind: 'verify' }],
      },
    });
    expect(response.status).toBe(201);
    expect(response.body.image.status).toBe('pending_upload');
    expect(response.body.job.counters).toEqual({ authorized: 0, succeeded: 0, failed: 0, returned: 0, remaining: 40 });
    ({ jobId } = response.body.job);
    ({ imageId } = response.body.image);
    binding = response.body.binding;
    const claims = await verifyWithJwks(binding);
    expect(claims).toMatchObject({ iss: 'flashline', fac: factoryId, img: imageId, job: jobId, sha256 });
    const listed = await call('GET', `v1/jobs?factoryId=${factoryId}`, { token: admin });
    expect(listed.body.items.map((j: { jobId: string }) => j.jobId)).toContain(jobId);

    const upload = response.body.upload;
    expect(upload.method).toBe('PUT');
    const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: imageBytes });
    expect(put.status).toBe(200);
    const image = await waitForImage(imageId, 'available');
    expect(image.sizeBytes).toBe(imageBytes.length);
  });

  it('rejects a corrupted upload', async () => {
    const other = randomBytes(1024);
    const registered = await call('POST', 'v1/images', {
      token: author,
      body: { name: 'Corrupt', factoryId, contentSha256: createHash('sha256').update(other).digest('hex'), sizeBytes: other.length, delivery: 'cloud', encryptionKeyId: 'key-east-1' },
    });
    expect(registered.status).toBe(201);
    const corrupted = Buffer.from(other);
    corrupted[0] = (corrupted[0] ?? 0) ^ 0xff;
    // The emulator does not check upload checksums; if S3 itself refuses the body, that is a rejection too.
    const put = await fetch(registered.body.upload.url, { method: 'PUT', headers: registered.body.upload.headers, body: corrupted });
    if (put.ok) {
      const image = await waitForImage(registered.body.image.imageId, 'rejected');
      expect(image.rejectionReason).toMatch(/SHA-256/);
    } else {
      expect(put.status).toBe(400);
    }
  });

  it('lets the key holder download the image and refuses the programmer without the key', async () => {
    const jobs = await call('GET', 'v1/device/jobs', { token: keyHolder.token });
    expect(jobs.status).toBe(200);
    const item = jobs.body.items.find((j: { jobId: string }) => j.jobId === jobId);
    expect(item.delivery).toBe('cloud');
    expect(item.image.imageId).toBe(imageId);

    const download = await call('POST', `v1/device/jobs/${jobId}/download-url`, { token: keyHolder.token });
    expect(download.status).toBe(200);
    downloadUrl = download.body.url;
    const bytes = Buffer.from(await (await fetch(download.body.url)).arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha256);

    const refused = await call('POST', `v1/device/jobs/${jobId}/download-url`, { token: keyless.token });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('missing_encryption_key');
  });

  it('grants exactly 40 units with 40 distinct serials to 8 programmers asking at once', async () => {
    const programmers = [keyHolder, keyless];
    for (let i = 2; i < 8; i += 1) {
      const response = await call('POST', 'v1/programmers', { token: admin, body: { name: `Line ${i}`, hardwareSerial: randomUUID(), factoryId } });
      programmers.push({ token: response.body.credentials.token, programmerId: response.body.programmer.programmerId });
    }
    const grants: { programmer: typeof keyHolder; body: any }[] = [];
    const refusals: string[] = [];
    await Promise.all(
      programmers.map(async (programmer, p) => {
        for (let round = 0; ; round += 1) {
          const units = ((p + round) % 3) + 1;
          const response = await call('POST', 'v1/device/authorizations', { token: programmer.token, body: { jobId, units, nonce: randomUUID(), binding } });
          if (response.status === 201) {
            grants.push({ programmer, body: response.body });
            continue;
          }
          expect(response.status).toBe(409);
          expect(response.body.error.code).toBe('job_completed');
          expect(Number.isInteger(response.body.error.details.remaining)).toBe(true);
          refusals.push(response.body.error.code);
          if (response.body.error.details.remaining === 0) return;
        }
      }),
    );
    const serials = grants.flatMap((g) => g.body.serials);
    expect(serials).toHaveLength(40);
    expect(new Set(serials).size).toBe(40);
    expect(serials.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `SN-${String(1000 + i).padStart(8, '0')}`));
    for (const grant of grants) {
      const claims = await verifyWithJwks(grant.body.ticket);
      expect(claims).toMatchObject({ sub: grant.programmer.programmerId, job: jobId, img: imageId, units: grant.body.units, serials: grant.body.serials, jti: grant.body.authorizationId });
    }
    const last = await call('POST', 'v1/device/authorizations', { token: keyHolder.token, body: { jobId, units: 1, nonce: randomUUID() } });
    expect(last.status).toBe(409);
    expect(last.body.error).toMatchObject({ code: 'job_completed', details: { remaining: 0 } });
    const job = await call('GET', `v1/jobs/${jobId}`, { token: admin });
    expect(job.body.job).toMatchObject({ status: 'completed', counters: { authorized: 40, remaining: 0 } });

    // Results reported twice (a retry) count once.
    let expectedSucceeded = 0;
    let expectedFailed = 0;
    for (const grant of grants) {
      const results = grant.body.serials.map((serial: string, i: number) => ({ serial, status: i === 0 && grant.body.units === 3 ? 'failure' : 'success', durationMs: 1200 }));
      for (const attempt of [1, 2]) {
        const response = await call('POST', 'v1/device/results', { token: grant.programmer.token, body: { authorizationId: grant.body.authorizationId, results } });
        expect(response.status).toBe(200);
        expect(response.body.recorded).toBe(attempt === 1 ? results.length : 0);
      }
      expectedFailed += results.filter((r: { status: string }) => r.status === 'failure').length;
      expectedSucceeded += results.filter((r: { status: string }) => r.status === 'success').length;
    }
    const after = await call('GET', `v1/jobs/${jobId}`, { token: admin });
    expect(after.body.job.counters).toEqual({ authorized: 40, succeeded: expectedSucceeded, failed: expectedFailed, returned: 0, remaining: 0 });
    await feedSettled();
    const listed = await call('GET', `v1/jobs/${jobId}/results?limit=100`, { token: admin });
    expect(listed.body.items).toHaveLength(40);
  });

  it('pauses, resumes, restarts (new run, serials continue) and deletes the job', async () => {
    const restart = await call('POST', `v1/jobs/${jobId}/restart`, { token: author });
    expect(restart.status).toBe(200);
    expect(restart.body.job).toMatchObject({ status: 'active', run: 2, counters: { authorized: 0, succeeded: 0, failed: 0, remaining: 40 } });

    const pause = await call('POST', `v1/jobs/${jobId}/pause`, { token: author });
    expect(pause.body.job.status).toBe('paused');
    const again = await call('POST', `v1/jobs/${jobId}/pause`, { token: author });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('invalid_transition');
    const refused = await call('POST', 'v1/device/authorizations', { token: keyHolder.token, body: { jobId, units: 1, nonce: randomUUID() } });
    expect(refused.body.error.code).toBe('job_paused');
    const visible = await call('GET', 'v1/device/jobs', { token: keyHolder.token });
    expect(visible.body.items.map((j: { jobId: string }) => j.jobId)).not.toContain(jobId);

    const resume = await call('POST', `v1/jobs/${jobId}/resume`, { token: author });
    expect(resume.body.job.status).toBe('active');
    const granted = await call('POST', 'v1/device/authorizations', { token: keyHolder.token, body: { jobId, units: 2, nonce: randomUUID() } });
    expect(granted.status).toBe(201);
    expect(granted.body.serials).toEqual(['SN-00001040', 'SN-00001041']);

    const deleted = await call('DELETE', `v1/jobs/${jobId}`, { token: author });
    expect(deleted.status).toBe(200);
    expect(deleted.body.job.status).toBe('deleted');
    const gone = await call('POST', 'v1/device/authorizations', { token: keyHolder.token, body: { jobId, units: 1, nonce: randomUUID() } });
    expect(gone.body.error.code).toBe('job_deleted');
    // The cloud image went with the job: even a download URL handed out earlier finds nothing.
    expect((await fetch(downloadUrl)).status).toBe(404);
    expect((await call('POST', `v1/device/jobs/${jobId}/download-url`, { token: keyHolder.token })).body.error.code).toBe('job_deleted');
    // Deleted as HTTP reads a DELETE: the job and its history answer 404 at their URLs; the record stays listed.
    for (const route of [`v1/jobs/${jobId}`, `v1/jobs/${jobId}/results`, `v1/jobs/${jobId}/logs`]) {
      const read = await call('GET', route, { token: admin });
      expect(read.status, route).toBe(404);
      expect(read.body.error.code).toBe('not_found');
    }
    const deletedList = await call('GET', 'v1/jobs?status=deleted', { token: admin });
    expect(deletedList.body.items).toContainEqual(expect.objectContaining({ jobId, status: 'deleted', counters: expect.objectContaining({ authorized: deleted.body.job.counters.authorized }) }));

    const audit = await call('GET', 'v1/audit?limit=100', { token: admin });
    const actions = audit.body.items.map((a: { action: string }) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['image.register', 'job.pause', 'job.resume', 'job.restart', 'job.delete', 'factory.create', 'programmer.provision']));
  });
});
