import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createAccount, uniqueName } from '../support/api.js';
import { type CliOptions, flashline, flashlineJson } from '../support/cli.js';

/**
 * Per-unit data through the CLI alone, on the deployed stack: the sources a job draws from are
 * created with `serial-pools create` and `mac-blocks create`, named by `image publish
 * --unit-field`, handed out to a simulated programmer, and traced back with `units show`.
 */
describe('the flashline CLI creates unit data sources, publishes a job drawing from them, and traces a unit', () => {
  let dir: string;
  const cli: CliOptions = { cwd: '' };
  const as = (credentials: string, ...args: string[]) => [...args, '--credentials', credentials];
  let serialPoolId: string;
  let macBlockId: string;
  let jobId: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'flashline-cli-units-'));
    cli.cwd = dir;
    writeFileSync(path.join(dir, 'admin.json'), JSON.stringify(await createAccount(uniqueName('CLI units'))), { mode: 0o600 });
    writeFileSync(path.join(dir, 'board.bin'), randomBytes(4096));
  });

  it('creates a serial pool and a MAC block, and lists them with their counts', async () => {
    ({ serialPool: { serialPoolId } } = await flashlineJson(as('admin.json', 'serial-pools', 'create', 'Boards', '--format', 'BD{n:06}', '--start', '10'), cli));
    ({ macBlock: { macBlockId } } = await flashlineJson(as('admin.json', 'mac-blocks', 'create', 'Line A', '--first', '02:00:5E:10:00:00', '--count', '256'), cli));
    const pools = await flashline(as('admin.json', 'serial-pools', 'ls'), cli);
    expect(pools.stdout).toMatch(new RegExp(`${serialPoolId} +Boards +BD\\{n:06\\} +0 +999,990`));
    const blocks = await flashline(as('admin.json', 'mac-blocks', 'ls'), cli);
    expect(blocks.stdout).toMatch(new RegExp(`${macBlockId} +Line A +02:00:5E:10:00:00 +02:00:5E:10:00:FF +0 +256`));
    const overlapping = await flashline(as('admin.json', 'mac-blocks', 'create', 'Line B', '--first', '02:00:5E:10:00:80', '--count', '16'), cli);
    expect(overlapping.code).toBe(1);
    expect(overlapping.stderr).toMatch(/\[mac_block_overlap 409\]/);
  });

  it('publishes a job whose units get a pool value and two MAC addresses each', async () => {
    const published = await flashlineJson(
      as('admin.json', 'image', 'publish', 'board.bin', '--factory', 'My Default Factory', '--max-count', '10', '--unit-field', `board=serial-pool:${serialPoolId}`, '--unit-field', `mac=mac-block:${macBlockId}:2`, '--on-failure', 'return'),
      cli,
    );
    jobId = published.job.jobId;
    expect(published.job).toMatchObject({
      status: 'active',
      onFailure: 'return',
      unitFields: [
        { name: 'board', source: { serialPool: serialPoolId } },
        { name: 'mac', source: { macBlock: macBlockId, perUnit: 2 } },
      ],
    });
  });

  it('hands the values to a programmer and traces a pool value back to its unit', async () => {
    await flashlineJson(as('admin.json', 'programmers', 'add', 'Cyclone 1', '--serial', randomUUID(), '--factory', 'My Default Factory', '--out', 'cyclone-1.json'), cli);
    const run = await flashlineJson(as('cyclone-1.json', 'simulate', '--job', jobId, '--units', '3', '--batch', '3', '--program-ms', '1'), cli);
    expect(run).toMatchObject({ ok: true, units: 3 });
    const { serialPool } = await flashlineJson(as('admin.json', 'serial-pools', 'show', serialPoolId), cli);
    expect(serialPool.issued).toBeGreaterThanOrEqual(3);
    const traced = await flashlineJson(as('admin.json', 'units', 'show', '--serial', 'BD000010'), cli);
    expect(traced.items).toHaveLength(1);
    expect(traced.items[0]).toMatchObject({ jobId, fields: ['board', 'mac'] });
    // The same unit got the block's first two addresses.
    const byMac = await flashlineJson(as('admin.json', 'units', 'show', '--mac', '02:00:5E:10:00:01'), cli);
    expect(byMac.items.map((unit: { authorizationId: string; serial: string }) => [unit.authorizationId, unit.serial])).toEqual([[traced.items[0].authorizationId, traced.items[0].serial]]);
  });

  it('changes the running job and gives it a new image; unit fields are refused once units were authorized', async () => {
    const updated = await flashlineJson(as('admin.json', 'jobs', 'update', jobId, '--max-count', '20', '--auto-pause', '0.5:100'), cli);
    expect(updated.job.restrictions).toMatchObject({ maxCount: 20, autoPause: { failureRate: 0.5, minUnits: 100 } });
    const shown = await flashline(as('admin.json', 'jobs', 'show', jobId), cli);
    expect(shown.stdout).toMatch(/Auto-pause: +at 50 % failures, from 100 results/);
    const started = await flashline(as('admin.json', 'jobs', 'update', jobId, '--unit-field', `board=serial-pool:${serialPoolId}`), cli);
    expect(started.code).toBe(1);
    expect(started.stderr).toMatch(/\[job_started 409\]/);

    writeFileSync(path.join(dir, 'board-v2.bin'), randomBytes(4096));
    const replaced = await flashlineJson(as('admin.json', 'jobs', 'replace', jobId, 'board-v2.bin'), cli);
    expect(replaced.job).toMatchObject({ jobId, imageVersion: 2, restrictions: { maxCount: 20 } });
    expect(replaced.image).toMatchObject({ name: 'board-v2.bin', jobId });
    // The job kept its counters and its place in the pool: the next units continue after the first three.
    const run = await flashlineJson(as('cyclone-1.json', 'simulate', '--job', jobId, '--units', '2', '--batch', '2', '--program-ms', '1'), cli);
    expect(run).toMatchObject({ ok: true, units: 2 });
    const { job } = await flashlineJson(as('admin.json', 'jobs', 'show', jobId), cli);
    expect(job.counters).toMatchObject({ authorized: 5, remaining: 15 });
  });

  it('targets the job at a programmer group: the group in use cannot be deleted, a programmer outside it is refused', async () => {
    const { group } = await flashlineJson(as('admin.json', 'groups', 'create', 'Gang A', '--factory', 'My Default Factory'), cli);
    await flashlineJson(as('admin.json', 'programmers', 'groups', 'Cyclone 1', 'Gang A'), cli);
    const targeted = await flashlineJson(as('admin.json', 'jobs', 'update', jobId, '--target-group', 'gang a'), cli);
    expect(targeted.job.targetGroupIds).toEqual([group.groupId]);
    const inUse = await flashline(as('admin.json', 'groups', 'rm', 'Gang A', '--factory', 'My Default Factory', '--yes'), cli);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/\[group_in_use 409\]/);

    await flashlineJson(as('admin.json', 'programmers', 'add', 'Cyclone 2', '--serial', randomUUID(), '--factory', 'My Default Factory', '--out', 'cyclone-2.json'), cli);
    const outside = await flashline(as('cyclone-2.json', 'simulate', '--job', jobId, '--units', '1', '--json'), cli);
    expect(outside.code).toBe(1);
    expect(outside.stdout + outside.stderr).toMatch(/not_in_target_group/);
    const inside = await flashlineJson(as('cyclone-1.json', 'simulate', '--job', jobId, '--units', '1', '--program-ms', '1'), cli);
    expect(inside).toMatchObject({ ok: true, units: 1 });

    await flashlineJson(as('admin.json', 'jobs', 'update', jobId, '--all-programmers'), cli);
    await flashlineJson(as('admin.json', 'programmers', 'groups', 'Cyclone 1'), cli);
    const removed = await flashline(as('admin.json', 'groups', 'rm', 'Gang A', '--factory', 'My Default Factory', '--yes'), cli);
    expect(removed.code, removed.stderr).toBe(0);
  });

  it('finishes a registered cloud image whose upload never happened with image upload, after checking the file', async () => {
    const admin = JSON.parse(readFileSync(path.join(dir, 'admin.json'), 'utf8')) as { token: string };
    const bytes = randomBytes(64 * 1024);
    writeFileSync(path.join(dir, 'late.bin'), bytes);
    writeFileSync(path.join(dir, 'other.bin'), randomBytes(64 * 1024));
    const factories = (await call('GET', 'v1/factories', { token: admin.token })).body.items as { factoryId: string; isDefault: boolean }[];
    const registered = await call('POST', 'v1/images', {
      token: admin.token,
      body: { name: 'late.bin', factoryId: factories.find((f) => f.isDefault)!.factoryId, contentSha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length, delivery: 'cloud', encryptionKeyId: 'key-late' },
    });
    expect(registered.status).toBe(201);
    const imageId = registered.body.image.imageId as string;

    const wrong = await flashline(as('admin.json', 'image', 'upload', imageId, 'other.bin'), cli);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/not the file image .* was registered with \(SHA-256 differs\)/);
    const uploaded = await flashlineJson(as('admin.json', 'image', 'upload', imageId, 'late.bin'), cli);
    expect(uploaded.image).toMatchObject({ imageId, status: 'available' });
    const again = await flashline(as('admin.json', 'image', 'upload', imageId, 'late.bin'), cli);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is available: nothing to upload \[invalid_state\]/);
  });
});
