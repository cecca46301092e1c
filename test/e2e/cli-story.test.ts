import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createAccount, feedSettled, uniqueName } from '../support/api.js';
import { type CliOptions, flashline, flashlineJson, startFlashline, waitForOutput } from '../support/cli.js';
import { verifyWithJwks } from '../support/jwks.js';

/**
 * The seed's story driven only through `flashline` commands, run as child processes exactly as
 * a user runs them (stdout is a pipe, so no TTY: the upload shows plain progress lines). Only the
 * account itself comes from the platform operator's admin command.
 */
describe('the flashline CLI tells the seed story', () => {
  const CONSOLE_URL = 'http://console.flashline.test/';
  const imageBytes = randomBytes(200 * 1024);
  const sha256 = createHash('sha256').update(imageBytes).digest('hex');
  let dir: string;
  let accountName: string;
  let jobId: string;
  let binding: string;
  const cli: CliOptions = { cwd: '', env: { FLASHLINE_CONSOLE_URL: CONSOLE_URL } };
  const as = (credentials: string, ...args: string[]) => [...args, '--credentials', credentials];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'flashline-cli-e2e-'));
    cli.cwd = dir;
    accountName = uniqueName('CLI story');
    const admin = await createAccount(accountName);
    writeFileSync(path.join(dir, 'admin.json'), JSON.stringify(admin), { mode: 0o600 });
    writeFileSync(path.join(dir, 'motor-controller.bin'), imageBytes);
  });

  it('shows the account, as a table and as JSON', async () => {
    const table = await flashline(as('admin.json', 'account'), cli);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`Account:         ${accountName}`);
    expect(table.stdout).toMatch(/Default factory: My Default Factory/);
    const json = await flashlineJson(as('admin.json', 'account'), cli);
    expect(json).toMatchObject({ account: { name: accountName }, defaultFactory: { isDefault: true }, key: { role: 'admin' }, endpoint: inject('apiUrl') });
  });

  it('creates "East Coast Factory", an author key and a programmer with its credentials file', async () => {
    const created = await flashline(as('admin.json', 'factories', 'create', 'East Coast Factory'), cli);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^Created factory East Coast Factory \(fac_/);
    const again = await flashline(as('admin.json', 'factories', 'create', 'East Coast Factory'), cli);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\[name_taken 409\]/);
    const factories = await flashlineJson(as('admin.json', 'factories', 'ls'), cli);
    expect(factories.items.map((f: { name: string }) => f.name).sort()).toEqual(['East Coast Factory', 'My Default Factory']);

    const key = await flashline(as('admin.json', 'keys', 'create', 'image tool', '--role', 'author', '--out', 'author.json'), cli);
    expect(key.code, key.stderr).toBe(0);
    expect(statSync(path.join(dir, 'author.json')).mode & 0o777).toBe(0o600);

    const added = await flashlineJson(
      as('admin.json', 'programmers', 'add', 'Cyclone 1', '--serial', randomUUID(), '--factory', 'east coast factory', '--encryption-key', 'key-east-1', '--out', 'cyclone-1.json'),
      cli,
    );
    expect(added.programmer).toMatchObject({ name: 'Cyclone 1', status: 'active', encryptionKeyIds: ['key-east-1'] });
    expect(statSync(path.join(dir, 'cyclone-1.json')).mode & 0o777).toBe(0o600);
    const listed = await flashline(as('admin.json', 'programmers', 'ls', '--factory', 'East Coast Factory'), cli);
    expect(listed.stdout).toMatch(/Cyclone 1 .*East Coast Factory\s+active\s+key-east-1/);
  });

  it('publishes a cloud image: hashes, registers, uploads with plain progress lines, waits for the verifier, links the console', async () => {
    const publish = await flashline(
      as('author.json', 'image', 'publish', 'motor-controller.bin', '--factory', 'East Coast Factory', '--encryption-key', 'key-east-1', '--max-count', '40', '--serial-start', '1000', '--serial-format', 'SN-{n:08}', '--step', 'erase', '--step', 'program'),
      cli,
    );
    expect(publish.code, publish.stderr).toBe(0);
    // Not a TTY: one line per 10 % step, no carriage-return redraws.
    expect(publish.stderr).not.toContain('\r');
    expect(publish.stderr).toMatch(/^Uploading: 100% \(200\.0 KiB of 200\.0 KiB\)/m);
    expect(publish.stderr.match(/^Uploading: /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(publish.stdout).toMatch(/^Image: +img_\S+ \(available; 200\.0 KiB, cloud delivery\)$/m);
    expect(publish.stdout).toContain(`SHA-256:     ${sha256}`);
    jobId = /^Job: +(job_\S+) \(active; max count 40\)$/m.exec(publish.stdout)![1]!;
    binding = /^Binding: +(\S+)$/m.exec(publish.stdout)![1]!;
    expect(publish.stdout).toContain(`View online: ${CONSOLE_URL}#/jobs/${jobId}`);
    expect(await verifyWithJwks(binding)).toMatchObject({ iss: 'flashline', job: jobId, sha256 });
  });

  it('lists and shows the job, in the factory named or by its id', async () => {
    const table = await flashline(as('admin.json', 'jobs', 'ls', '--factory', 'East Coast Factory'), cli);
    expect(table.stdout).toMatch(new RegExp(`^${jobId}\\s+motor-controller\\.bin\\s+East Coast Factory\\s+active\\s+1\\s+0\\s+0\\s+0\\s+40`, 'm'));
    const json = await flashlineJson(as('admin.json', 'jobs', 'show', jobId), cli);
    expect(json).toMatchObject({ job: { jobId, status: 'active', counters: { authorized: 0, remaining: 40 }, serials: { next: 'SN-00001000' } }, consoleLink: `${CONSOLE_URL}#/jobs/${jobId}` });
  });

  it('pauses and resumes the job; a second pause is refused with its code and exit 1', async () => {
    expect((await flashlineJson(as('author.json', 'jobs', 'pause', jobId), cli)).job.status).toBe('paused');
    const again = await flashline(as('author.json', 'jobs', 'pause', jobId), cli);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[invalid_transition 409]');
    const refused = await flashline(as('cyclone-1.json', 'simulate', '--job', jobId, '--units', '1', '--json'), cli);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, stopReason: 'job_paused', units: 0 });
    const resumed = await flashline(as('author.json', 'jobs', 'resume', jobId), cli);
    expect(resumed.stdout).toMatch(/^Resumed motor-controller\.bin \(job_\S+\): active, run 1$/m);
  });

  it('simulates the programmer and shows its logs and results; --follow prints new lines as they come', async () => {
    const first = await flashlineJson(as('cyclone-1.json', 'simulate', '--job', jobId, '--units', '5', '--batch', '2', '--binding', binding, '--program-ms', '1'), cli);
    expect(first).toMatchObject({ ok: true, stopReason: 'units_done', units: 5, imagesVerified: 1, bindingVerified: true, ticketsVerified: 3 });

    await feedSettled();
    const logs = await flashline(as('admin.json', 'jobs', 'logs', jobId), cli);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/INFO +prg_\S+ authorized 2 unit\(s\) SN-00001000…SN-00001001; ticket verified/);
    const results = await flashlineJson(as('admin.json', 'jobs', 'results', jobId), cli);
    expect(results.items.map((r: { serial: string }) => r.serial).sort()).toEqual(['SN-00001000', 'SN-00001001', 'SN-00001002', 'SN-00001003', 'SN-00001004']);

    // --json --follow prints one JSON object per log line (NDJSON), each naming its authorization.
    const follow = startFlashline(as('admin.json', 'jobs', 'logs', jobId, '--follow', '--interval', '500', '--json'), cli);
    await waitForOutput(follow, (run) => run.stdout.includes('SN-00001004'), 'the earlier log lines');
    const second = await flashlineJson(as('cyclone-1.json', 'simulate', '--job', jobId, '--units', '3', '--batch', '3', '--program-ms', '1'), cli);
    expect(second).toMatchObject({ ok: true, units: 3 });
    await waitForOutput(follow, (run) => run.stdout.includes('authorized 3 unit(s) SN-00001005…SN-00001007'), 'the new log lines');
    follow.child.kill('SIGINT');
    const followed = await follow.done;
    expect(followed.code).toBe(0);
    // Every line once: two lines per authorization, 3 of the first run and 1 of the second.
    const lines = followed.stdout.trim().split('\n');
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.map((line) => JSON.parse(line))).toHaveLength(8);

    const shown = await flashlineJson(as('admin.json', 'jobs', 'show', jobId), cli);
    expect(shown.job.counters).toMatchObject({ authorized: 8, remaining: 32 });
    expect(shown.job.counters.succeeded + shown.job.counters.failed).toBe(8);
  });

  it('reads the audit trail and the signing keys; deletes the job', async () => {
    const audit = await flashlineJson(as('admin.json', 'audit'), cli);
    const actions = audit.items.map((r: { action: string }) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['job.pause', 'job.resume']));
    // Filtered by the cloud: only this job's resume.
    const resumes = await flashlineJson(as('admin.json', 'audit', '--action', 'job.resume', '--target', jobId), cli);
    expect(resumes.items.map((r: { action: string; target: { id: string } }) => [r.action, r.target.id])).toEqual([['job.resume', jobId]]);
    const keys = await flashlineJson(as('admin.json', 'signing-keys'), cli);
    expect(keys.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    const deleted = await flashlineJson(as('author.json', 'jobs', 'rm', jobId, '--yes'), cli);
    expect(deleted.job.status).toBe('deleted');
    const visible = await flashlineJson(as('admin.json', 'jobs', 'ls'), cli);
    expect(visible.items.map((j: { jobId: string }) => j.jobId)).not.toContain(jobId);
  });

  it('answers a wrong id with the API message and exit 1, a wrong command line with exit 2', async () => {
    const missing = await flashline(as('admin.json', 'jobs', 'show', 'job_doesnotexist'), cli);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found \[not_found 404\]/i);
    const viewerOnly = await flashline(as('cyclone-1.json', 'factories', 'ls'), cli);
    expect(viewerOnly.code).toBe(1);
    expect(viewerOnly.stderr).toMatch(/\[forbidden 403\]/);
    const usage = await flashline(as('admin.json', 'jobs', 'ls', '--status', 'sleeping'), cli);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/must be one of active, paused/);
  });
});
