import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FlashlineClient } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { call, createAccount, feedSettled, uniqueName } from '../support/api.js';
import { type CliOptions, flashline, flashlineJson, flashlineOnTerminal, startFlashline, waitForOutput } from '../support/cli.js';

/**
 * Issue 13: what an operator meets daily. Log lines that arrive late or out of order, from a
 * device whose clock is 10 minutes behind, reach `jobs logs --follow` exactly once; status
 * filtered job lists page fully over 250 jobs of mixed statuses; deleting commands ask first.
 */
describe('operator-facing correctness', () => {
  let admin: CredentialsFileType;
  let api: FlashlineClient;
  let factoryId: string;
  let programmerToken: string;
  let dir: string;
  const cli: CliOptions = { cwd: '' };
  const as = (...args: string[]) => [...args, '--credentials', 'admin.json'];

  const register = async (name: string, restrictions: Record<string, unknown> = {}) => {
    const image = await call('POST', 'v1/images', {
      token: admin.token,
      body: { name, factoryId, contentSha256: 'cd'.repeat(32), sizeBytes: 1024, delivery: 'direct', restrictions },
    });
    expect(image.status, JSON.stringify(image.body)).toBe(201);
    return image.body.job.jobId as string;
  };
  const postLogs = async (jobId: string, lines: { at: string; message: string }[]) => {
    const response = await call('POST', 'v1/device/logs', { token: programmerToken, body: { jobId, lines: lines.map((line) => ({ ...line, level: 'info' })) } });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  };

  beforeAll(async () => {
    admin = await createAccount(uniqueName('Operator'));
    api = new FlashlineClient({ baseUrl: admin.endpoint, token: admin.token });
    dir = mkdtempSync(path.join(tmpdir(), 'flashline-operator-'));
    cli.cwd = dir;
    writeFileSync(path.join(dir, 'admin.json'), JSON.stringify(admin), { mode: 0o600 });
    const factory = await call('POST', 'v1/factories', { token: admin.token, body: { name: uniqueName('Line') } });
    factoryId = factory.body.factory.factoryId;
    const programmer = await call('POST', 'v1/programmers', { token: admin.token, body: { name: uniqueName('Cyclone'), hardwareSerial: randomUUID(), factoryId } });
    programmerToken = programmer.body.credentials.token;
  });

  describe('late and out-of-order log lines', () => {
    it('reach `jobs logs --follow` exactly once, in arrival order, with the device time shown', async () => {
      const jobId = await register(uniqueName('Late lines'));
      const follow = startFlashline(as('jobs', 'logs', jobId, '--follow', '--interval', '300', '--json'), cli);
      await postLogs(jobId, [{ at: new Date().toISOString(), message: 'on time 1' }]);
      await waitForOutput(follow, (run) => run.stdout.includes('on time 1'), 'the first line');

      // A programmer whose clock is 10 minutes behind sends lines out of order, in two requests at once.
      const behind = Date.now() - 10 * 60_000;
      const late = (i: number) => ({ at: new Date(behind + i * 1000).toISOString(), message: `late ${i}` });
      await Promise.all([postLogs(jobId, [late(3), late(1), late(5)]), postLogs(jobId, [late(4), late(2)])]);
      await postLogs(jobId, [{ at: new Date().toISOString(), message: 'on time 2' }]);
      // …and one more line from far in the past after the follower has moved on.
      await waitForOutput(follow, (run) => run.stdout.includes('on time 2'), 'the second on-time line');
      await postLogs(jobId, [late(0)]);
      await waitForOutput(follow, (run) => run.stdout.includes('"late 0"'), 'the latest late line');
      // A few more polls: nothing may come twice.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      follow.child.kill('SIGINT');
      const { stdout, code } = await follow.done;
      expect(code).toBe(0);
      const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { message: string; at: string; sequence: string; receivedAt: string });
      expect(lines.map((line) => line.message).sort()).toEqual(['late 0', 'late 1', 'late 2', 'late 3', 'late 4', 'late 5', 'on time 1', 'on time 2']);
      const sequences = lines.map((line) => line.sequence);
      expect([...sequences].sort()).toEqual(sequences);
      expect(lines.find((line) => line.message === 'late 0')?.at).toBe(late(0).at);
      expect(lines.at(-1)?.message).toBe('late 0');

      // `since` compares the arrival time: the late lines are "since" a moment ago, whatever their device time.
      const cutoff = lines.find((line) => line.message === 'on time 2')!.receivedAt;
      const recent = await api.listAll(contract.listJobLogs, { params: { jobId }, query: { since: cutoff } });
      expect(recent.map((line) => line.message)).toContain('late 0');
      expect(recent.map((line) => line.message)).not.toContain('on time 1');
    });

    it('store a retried request once and hand out a cursor that follows results and the audit trail too', async () => {
      const jobId = await register(uniqueName('Retries'), { maxCount: 10 });
      const lines = [{ at: new Date(Date.now() - 600_000).toISOString(), message: 'retried' }];
      await postLogs(jobId, lines);
      await postLogs(jobId, lines);
      await feedSettled();
      const first = await api.readFeed(contract.listJobLogs, { params: { jobId }, query: { limit: 100 } }, undefined);
      expect(first.items.map((line) => line.message)).toEqual(['retried']);

      // Results reported with device times 10 minutes old arrive after the cursor all the same.
      const results = await api.readFeed(contract.listJobResults, { params: { jobId }, query: { limit: 100 } }, undefined);
      expect(results.items).toEqual([]);
      const grant = await call('POST', 'v1/device/authorizations', { token: programmerToken, body: { jobId, units: 3, nonce: randomUUID() } });
      expect(grant.status).toBe(201);
      const at = new Date(Date.now() - 600_000).toISOString();
      const report = { authorizationId: grant.body.authorizationId, results: grant.body.serials.map((serial: string) => ({ serial, status: 'success', at })) };
      expect((await call('POST', 'v1/device/results', { token: programmerToken, body: report })).status).toBe(200);
      await feedSettled();
      const more = await api.readFeed(contract.listJobResults, { params: { jobId }, query: { limit: 2 } }, results.cursor);
      expect(more.items.map((result) => result.serial).sort()).toEqual([...grant.body.serials].sort());
      const none = await api.readFeed(contract.listJobResults, { params: { jobId }, query: { limit: 2 } }, more.cursor);
      expect(none.items).toEqual([]);

      const audit = await api.readFeed(contract.listAudit, { query: { since: new Date(Date.now() - 3_600_000).toISOString(), limit: 100 } }, undefined);
      expect(audit.items.length).toBeGreaterThan(0);
      expect((await call('POST', `v1/jobs/${jobId}/pause`, { token: admin.token })).status).toBe(200);
      await feedSettled();
      const paused = await api.readFeed(contract.listAudit, { query: { limit: 100 } }, audit.cursor);
      expect(paused.items.map((record) => `${record.action} ${record.target.id}`)).toEqual([`job.pause ${jobId}`]);

      const foreign = await call('GET', `v1/jobs/${jobId}/logs?cursor=${encodeURIComponent(Buffer.from('JOB#x').toString('base64url'))}`, { token: admin.token });
      expect(foreign.status).toBe(400);
      expect(foreign.body.error.code).toBe('invalid_request');
    });
  });

  describe('status-filtered job lists over 250 jobs', () => {
    const expected: Record<string, Set<string>> = { active: new Set(), paused: new Set(), completed: new Set(), expired: new Set(), deleted: new Set() };

    beforeAll(async () => {
      // Mixed statuses spread over the id order (ids are random): 250 jobs, about a third active.
      const plan = Array.from({ length: 250 }, (_, i) => (['active', 'paused', 'active', 'deleted', 'completed', 'expired', 'paused'] as const)[i % 7]!);
      // One expiry window for every expired job, fixed before the loop: a window computed per job
      // from the clock would open after it closed once registering took longer than a minute.
      const past = new Date(Date.now() - 60_000).toISOString();
      const longAgo = new Date(Date.now() - 120_000).toISOString();
      const make = async (status: (typeof plan)[number], i: number) => {
        const jobId = await register(`bulk ${i}`, status === 'completed' ? { maxCount: 1 } : status === 'expired' ? { notBefore: longAgo, notAfter: past } : {});
        if (status === 'paused') expect((await call('POST', `v1/jobs/${jobId}/pause`, { token: admin.token })).status).toBe(200);
        if (status === 'deleted') expect((await call('DELETE', `v1/jobs/${jobId}`, { token: admin.token })).status).toBe(200);
        if (status === 'completed') {
          const grant = await call('POST', 'v1/device/authorizations', { token: programmerToken, body: { jobId, units: 1, nonce: randomUUID() } });
          expect(grant.status, JSON.stringify(grant.body)).toBe(201);
        }
        expected[status]!.add(jobId);
      };
      for (let i = 0; i < plan.length; i += 4) await Promise.all(plan.slice(i, i + 4).map((status, j) => make(status, i + j)));
    }, 600_000);

    const isBulk = (entry: string) => entry.split(' ')[2] === 'bulk';
    const withoutName = (entry: string) => entry.split(' ').slice(0, 2).join(' ');
    const pagesOf = async (query: string) => {
      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const response: { status: number; body: any } = await call('GET', `v1/jobs?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: admin.token });
        expect(response.status, JSON.stringify(response.body)).toBe(200);
        pages.push(response.body.items.map((job: { jobId: string; status: string; name: string }) => `${job.status} ${job.jobId} ${job.name}`));
        cursor = response.body.nextCursor;
      } while (cursor);
      return pages;
    };

    it.each([
      ['paused', 7],
      ['active', 50],
      ['completed', 10],
      ['expired', 100],
      ['deleted', 9],
    ])('status=%s with limit %i: every page full but the last, each job once', async (status, limit) => {
      for (const scope of ['', `&factoryId=${factoryId}`]) {
        const pages = await pagesOf(`status=${status}&limit=${limit}${scope}`);
        pages.slice(0, -1).forEach((page) => expect(page).toHaveLength(limit));
        expect(pages.at(-1)!.length).toBeLessThanOrEqual(limit);
        // The other tests of this file add a few jobs of their own: compare the bulk ones.
        const listed = pages.flat().filter(isBulk).map(withoutName);
        expect(new Set(listed).size).toBe(listed.length);
        expect(listed.sort()).toEqual([...expected[status]!].map((id) => `${status} ${id}`).sort());
      }
    });

    it('without a status lists every job but the deleted ones, in full pages; the CLI follows every cursor', async () => {
      const pages = await pagesOf('limit=25');
      pages.slice(0, -1).forEach((page) => expect(page).toHaveLength(25));
      const notDeleted = Object.entries(expected).flatMap(([status, ids]) => (status === 'deleted' ? [] : [...ids]));
      expect(pages.flat().filter(isBulk).map((entry) => entry.split(' ')[1]).sort()).toEqual(notDeleted.sort());
      const listed = await flashlineJson(as('jobs', 'ls', '--status', 'paused'), cli);
      expect(listed.items.filter((job: { name: string }) => job.name.startsWith('bulk ')).map((job: { jobId: string }) => job.jobId).sort()).toEqual([...expected.paused!].sort());
    });
  });

  describe('deleting commands ask first', () => {
    it('without a terminal they need --yes: usage error, exit 2, nothing deleted; --json output is unchanged with --yes', async () => {
      const jobId = await register(uniqueName('Keep me'));
      for (const args of [as('jobs', 'rm', jobId), as('jobs', 'rm', jobId, '--json'), as('programmers', 'rm', 'nobody'), as('keys', 'revoke', admin.keyId), as('factories', 'rm', 'nowhere')]) {
        const run = await flashline(args, cli);
        expect(run.code, `${args.join(' ')}\n${run.stderr}`).toBe(2);
        expect(run.stdout).toBe('');
        expect(run.stderr).toContain('needs --yes');
      }
      const jsonError = await flashline(as('jobs', 'rm', jobId, '--json'), cli);
      expect(JSON.parse(jsonError.stderr)).toMatchObject({ error: { code: 'usage' } });
      expect((await call('GET', `v1/jobs/${jobId}`, { token: admin.token })).body.job.status).toBe('active');

      const deleted = await flashlineJson(as('jobs', 'rm', jobId, '--yes'), cli);
      expect(Object.keys(deleted)).toEqual(['job']);
      expect(deleted.job).toMatchObject({ jobId, status: 'deleted' });
    });

    it('on a terminal they ask, and only "y" deletes', async () => {
      const jobId = await register(uniqueName('Ask me'));
      // `script` gives the CLI a real pseudo-terminal; the answer is typed once it asks.
      const onTerminal = (answer: string) => flashlineOnTerminal(as('jobs', 'rm', jobId), answer, cli);
      const declined = await onTerminal('n');
      expect(declined.output).toMatch(/Delete job .* \(job_\S+\) and its cloud image\? \[y\/N\]/);
      expect(declined.output).toContain('nothing was deleted');
      expect(declined.code).toBe(1);
      expect((await call('GET', `v1/jobs/${jobId}`, { token: admin.token })).body.job.status).toBe('active');

      const accepted = await onTerminal('y');
      expect(accepted.code, accepted.output).toBe(0);
      expect(accepted.output).toMatch(/Deleted .* \(job_\S+\): deleted/);
      expect((await call('GET', `v1/jobs/${jobId}`, { token: admin.token })).status).toBe(404);
      expect((await call('GET', 'v1/jobs?status=deleted', { token: admin.token })).body.items.map((j: { jobId: string }) => j.jobId)).toContain(jobId);
    });
  });
});
