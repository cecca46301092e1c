import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SimulationSummary, simulate } from '../../cli/simulate/simulator.js';
import { FlashlineClient } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';
import { createAccount, feedSettled, uniqueName } from '../support/api.js';
import { flashline } from '../support/cli.js';

/**
 * The simulator against the deployed stack: as `flashline simulate` processes (a line of three
 * programmers racing for one count limit) and in-process (as benchmarks call it). The setup uses
 * the typed client with response validation on, so it also checks the client against the server.
 */
describe('simulated programmers on the deployed stack', () => {
  let dir: string;
  let admin: FlashlineClient;
  let author: FlashlineClient;
  let factoryId: string;
  let programmers: contract.CredentialsFileType[];

  const publishCloudImage = async (name: string, maxCount?: number) => {
    const bytes = randomBytes(32 * 1024);
    const registered = await author.call(contract.registerImage, {
      body: {
        name,
        factoryId,
        contentSha256: createHash('sha256').update(bytes).digest('hex'),
        sizeBytes: bytes.length,
        delivery: 'cloud',
        encryptionKeyId: 'key-line',
        restrictions: maxCount === undefined ? undefined : { maxCount },
        serials: { start: 1, format: 'LINE-{n:06}' },
      },
    });
    const put = await fetch(registered.upload!.url, { method: 'PUT', headers: registered.upload!.headers, body: bytes });
    expect(put.status).toBe(200);
    for (let i = 0; i < 100; i += 1) {
      const { image } = await author.call(contract.getImage, { params: { imageId: registered.image.imageId } });
      if (image.status === 'available') return registered;
      expect(image.status).toBe('pending_upload');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('the image never became available');
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'flashline-simulator-e2e-'));
    const adminCredentials = await createAccount(uniqueName('Simulator'));
    admin = FlashlineClient.fromCredentials(adminCredentials, { validateResponses: true });
    const key = await admin.call(contract.createApiKey, { body: { name: 'line tool', role: 'author' } });
    author = FlashlineClient.fromCredentials(key.credentials, { validateResponses: true });
    ({
      factory: { factoryId },
    } = await admin.call(contract.createFactory, { body: { name: uniqueName('Line') } }));
    programmers = [];
    for (let i = 1; i <= 3; i += 1) {
      const created = await admin.call(contract.provisionProgrammer, { body: { name: `Cyclone ${i}`, hardwareSerial: randomUUID(), factoryId, encryptionKeyIds: ['key-line'] } });
      programmers.push(created.credentials);
      writeFileSync(path.join(dir, `cyclone-${i}.json`), JSON.stringify(created.credentials), { mode: 0o600 });
    }
  });

  it('three `flashline simulate` processes against maxCount 100 end with exactly 100 units, and their summaries agree with the job counters', async () => {
    const { job } = await publishCloudImage('Line image', 100);
    // 3 × 40 > 100, so the limit refuses someone; and no two processes can use the job up before
    // a slow-starting third one lists it (a used-up job is no longer listed to devices).
    const runs = await Promise.all(
      [1, 2, 3].map((i) =>
        flashline(
          ['simulate', '--credentials', `cyclone-${i}.json`, '--job', job.jobId, '--units', '40', '--batch', '7', '--concurrency', '2', '--failure-rate', '0.1', '--seed', `line-${i}`, '--program-ms', '2', '--json'],
          { cwd: dir },
        ),
      ),
    );
    const summaries = runs.map((run) => {
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as SimulationSummary;
    });
    for (const summary of summaries) {
      expect(summary).toMatchObject({ ok: true, errors: [], imagesVerified: 1, jobId: job.jobId, delivery: 'cloud' });
      expect(['units_done', 'job_completed']).toContain(summary.stopReason);
      expect(summary.ticketsVerified).toBe(summary.authorizations);
      expect(summary.units).toBe(summary.authorizedUnits);
    }
    expect(summaries.some((summary) => summary.stopReason === 'job_completed')).toBe(true);
    const sum = (pick: (s: SimulationSummary) => number) => summaries.reduce((total, summary) => total + pick(summary), 0);
    expect(sum((s) => s.units)).toBe(100);
    expect(sum((s) => s.authorizedUnits)).toBe(100);

    const { job: after } = await admin.call(contract.getJob, { params: { jobId: job.jobId } });
    expect(after.status).toBe('completed');
    expect(after.counters).toEqual({ authorized: 100, succeeded: sum((s) => s.successes), failed: sum((s) => s.failures), returned: 0, remaining: 0 });

    await feedSettled();
    const results = await admin.listAll(contract.listJobResults, { params: { jobId: job.jobId }, query: { limit: 100 } });
    expect(results).toHaveLength(100);
    expect(new Set(results.map((r) => r.serial)).size).toBe(100);
    programmers.forEach((credentials, i) => {
      expect(results.filter((r) => r.programmerId === credentials.programmerId)).toHaveLength(summaries[i]!.units);
    });
  });

  it('in-process: stops cleanly when the job is paused under it, every authorized unit reported or released', async () => {
    const { job, binding } = await publishCloudImage('Unlimited image');
    const running = simulate({ programmers, jobId: job.jobId, batch: 3, concurrency: 2, programMs: 20, binding, failureRate: 0.05, seed: 'pause' });
    // No count limit: only the pause can end this run.
    for (;;) {
      const { job: current } = await admin.call(contract.getJob, { params: { jobId: job.jobId } });
      if (current.counters.authorized > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await author.call(contract.pauseJob, { params: { jobId: job.jobId } });
    const summary = await running;
    expect(summary).toMatchObject({ ok: false, stopReason: 'job_paused', errors: [], bindingVerified: true, imagesVerified: 3, programmers: 3, lanes: 6 });
    expect(summary.refusals.job_paused).toBeGreaterThan(0);
    // Lanes that were programming when the pause came leave their remaining units to the job.
    expect(summary.units + summary.returnedUnits).toBe(summary.authorizedUnits);
    const { job: after } = await admin.call(contract.getJob, { params: { jobId: job.jobId } });
    expect(after.counters).toEqual({
      authorized: summary.authorizedUnits - summary.returnedUnits,
      succeeded: summary.successes,
      failed: summary.failures,
      returned: summary.returnedUnits,
      remaining: null,
    });
    expect(Object.keys(summary.latency)).toEqual(expect.arrayContaining(['authorizeProgramming', 'reportResults', 'appendLogs', 'createDownloadUrl', 'imageDownload', 'listDeviceJobs', 'getSigningKeys']));
  });
});
