import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_URL } from '../../shared/contract/webhooks.js';
import { eventsOfChange } from '../../shared/domain/events.js';
import { guardrailCrossed, storedAutoPause } from '../../shared/domain/guardrail.js';
import { isPrivateAddress, nextAttemptAt, retryDelaySeconds, webhookUrlProblems } from '../../shared/domain/webhooks.js';
import { eventsOfRecord } from '../../shared/store/event-relay.js';
import { keys } from '../../shared/store/keys.js';
import { httpWebhookSender } from '../../shared/store/webhook-sender.js';
import { marshall } from '@aws-sdk/util-dynamodb';

const job = (fields: Record<string, unknown> = {}) => ({ type: 'job', jobId: 'job_1', factoryId: 'fac_1', status: 'active', run: 1, authorized: 0, succeeded: 0, failed: 0, ...fields });
const at = '2026-11-27T12:00:00.000Z';
const types = (events: { type: string }[]) => events.map((e) => e.type);

describe('events derived from entity changes', () => {
  it('names pause, resume, restart and delete, with who did it', () => {
    expect(eventsOfChange('job', 'acc_1', job(), job({ status: 'paused', statusChangedBy: 'key:key_1' }), at)).toEqual([
      { type: 'job.paused', timestamp: at, data: { accountId: 'acc_1', jobId: 'job_1', factoryId: 'fac_1', run: 1, by: 'key:key_1', counters: { authorized: 0, succeeded: 0, failed: 0, returned: 0, remaining: null } } },
    ]);
    expect(types(eventsOfChange('job', 'acc_1', job({ status: 'paused' }), job(), at))).toEqual(['job.resumed']);
    expect(types(eventsOfChange('job', 'acc_1', job({ status: 'paused', succeeded: 4 }), job({ run: 2 }), at))).toEqual(['job.restarted']);
    expect(types(eventsOfChange('job', 'acc_1', job(), job({ status: 'deleted' }), at))).toEqual(['job.deleted']);
    expect(eventsOfChange('job', 'acc_1', job({ status: 'deleted' }), job({ status: 'deleted', updatedAt: 'x' }), at)).toEqual([]);
  });

  it('completes a job once, on the change that takes remaining to zero', () => {
    expect(types(eventsOfChange('job', 'a', job({ maxCount: 5, authorized: 3 }), job({ maxCount: 5, authorized: 5 }), at))).toEqual(['job.completed']);
    expect(eventsOfChange('job', 'a', job({ maxCount: 5, authorized: 5 }), job({ maxCount: 5, authorized: 5, succeeded: 1 }), at)).toEqual([]);
    expect(eventsOfChange('job', 'a', job({ authorized: 3 }), job({ authorized: 5 }), at)).toEqual([]);
  });

  it('reports yield below the guardrail once, when the counters cross it', () => {
    const guarded = { autoPauseFailureRate: 0.5, autoPauseMinUnits: 4 };
    const crossing = eventsOfChange('job', 'a', job({ ...guarded, succeeded: 2, failed: 1 }), job({ ...guarded, succeeded: 2, failed: 2, status: 'paused', statusChangedBy: 'guardrail' }), at);
    expect(types(crossing)).toEqual(['job.paused', 'job.yield_below_threshold']);
    expect(crossing[1]?.data).toMatchObject({ yield: 0.5, autoPause: { failureRate: 0.5, minUnits: 4 } });
    expect(eventsOfChange('job', 'a', job({ ...guarded, succeeded: 2, failed: 2, status: 'paused' }), job({ ...guarded, succeeded: 2, failed: 3, status: 'paused' }), at)).toEqual([]);
  });

  it('names images verified, authorizations released and programmers found silent, and nothing else', () => {
    expect(types(eventsOfChange('image', 'a', { status: 'pending_upload' }, { status: 'available', imageId: 'img_1' }, at))).toEqual(['image.available']);
    expect(types(eventsOfChange('image', 'a', { status: 'pending_upload' }, { status: 'rejected' }, at))).toEqual(['image.rejected']);
    expect(eventsOfChange('image', 'a', { status: 'available' }, { status: 'available', updatedAt: 'x' }, at)).toEqual([]);
    const release = { authorizationId: 'auth_1', units: 3, reported: 1, returned: 2 };
    expect(eventsOfChange('authorization', 'a', { state: 'granted' }, { state: 'released', authorizationId: 'auth_1', jobId: 'job_1', programmerId: 'prg_1', release }, at)[0]?.data).toMatchObject({ ...release, jobId: 'job_1', programmerId: 'prg_1' });
    expect(eventsOfChange('authorization', 'a', { state: 'released' }, { state: 'released' }, at)).toEqual([]);
    expect(types(eventsOfChange('programmer', 'a', { lastSeenAt: 't1' }, { lastSeenAt: 't1', offlineSince: 't1' }, at))).toEqual(['programmer.offline']);
    expect(eventsOfChange('programmer', 'a', { lastSeenAt: 't1', offlineSince: 't1' }, { lastSeenAt: 't2', offlineSince: 't1' }, at)).toEqual([]);
  });

  it('gives a replayed stream record the same webhook-id, and ignores items that are no event source', () => {
    const record = { eventID: 'e-1', dynamodb: { Keys: marshall(keys.job('acc_1', 'job_1')), OldImage: marshall(job()), NewImage: marshall(job({ status: 'paused' })), ApproximateCreationDateTime: 1_795_000_000 } };
    const first = eventsOfRecord(record);
    expect(first).toHaveLength(1);
    expect(first[0]?.event.data.accountId).toBe('acc_1');
    expect(eventsOfRecord(structuredClone(record))).toEqual(first);
    expect(eventsOfRecord({ ...record, eventID: 'e-2' })[0]?.messageId).not.toBe(first[0]?.messageId);
    expect(eventsOfRecord({ ...record, dynamodb: { ...record.dynamodb, Keys: marshall(keys.factory('acc_1', 'fac_1')) } })).toEqual([]);
    expect(keys.eventSourceOf(keys.authorization('acc_1', 'auth_1'))).toEqual({ kind: 'authorization', accountId: 'acc_1' });
    expect(keys.eventSourceOf(keys.reportedUnits('acc_1', 'auth_1'))).toBeUndefined();
  });
});

describe('the yield guardrail', () => {
  it('crosses at the rate once minUnits results are in', () => {
    const autoPause = { failureRate: 0.25, minUnits: 8 };
    expect(guardrailCrossed(autoPause, 5, 2)).toBe(false); // 7 results: too few to judge
    expect(guardrailCrossed(autoPause, 6, 2)).toBe(true); // 2/8 = 0.25
    expect(guardrailCrossed(autoPause, 7, 2)).toBe(false);
    expect(guardrailCrossed(null, 0, 100)).toBe(false);
    expect(guardrailCrossed({ failureRate: 0, minUnits: 1 }, 1, 0)).toBe(true);
    expect(storedAutoPause({ autoPauseFailureRate: 0.1, autoPauseMinUnits: 3 })).toEqual({ failureRate: 0.1, minUnits: 3 });
    expect(storedAutoPause({})).toBeNull();
  });
});

describe('webhook rules', () => {
  it('takes https URLs, and plain http to localhost only where private receivers are allowed', () => {
    expect(webhookUrlProblems('https://hooks.example.com/x', false)).toEqual([]);
    expect(webhookUrlProblems('http://hooks.example.com/x', false)).toEqual(['must use https']);
    expect(webhookUrlProblems('http://127.0.0.1:8080/x', true)).toEqual([]);
    expect(webhookUrlProblems('http://127.0.0.1:8080/x', false)).toEqual(['must use https']);
    expect(webhookUrlProblems('https://localhost/x', false)).toEqual(['must not name a private, loopback or link-local address']);
    expect(webhookUrlProblems('https://169.254.169.254/latest', false)).toEqual(['must not name a private, loopback or link-local address']);
    expect(webhookUrlProblems('https://[::1]/x', false)).toEqual(['must not name a private, loopback or link-local address']);
    expect(webhookUrlProblems('https://user:pw@hooks.example.com/', false)).toEqual(['must not carry credentials']);
    expect(webhookUrlProblems('not a url', false)).toEqual(['must be an absolute URL']);
  });

  it('agrees with the schema: a URL the pattern takes, the server takes (schemathesis found a port and labels it did not)', () => {
    const edges = [
      'https://0.0.A.AAwUUOp:72932',
      'https://a.bc:65535',
      'https://a.bc:65536',
      'https://a.bc:0',
      'https://xn--a.com',
      'https://shop.xn--bcher-kva.example',
      'https://ab--cd.com/x?y#z',
      'http://localhost:54321/hook',
      'http://[::1]/hook',
    ];
    for (const url of edges) {
      if (WEBHOOK_URL.test(url)) expect(webhookUrlProblems(url, true), url).toEqual([]);
    }
    expect(edges.filter((url) => WEBHOOK_URL.test(url))).toEqual(['https://a.bc:65535', 'https://ab--cd.com/x?y#z', 'http://localhost:54321/hook', 'http://[::1]/hook']);
  });

  it('knows private, loopback, link-local and mapped addresses', () => {
    for (const address of ['10.1.2.3', '172.16.0.1', '192.168.1.1', '127.0.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:10.0.0.1', 'nonsense']) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(address), address).toBe(false);
  });

  it('backs off exponentially for 24 hours, then gives up', () => {
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(n, 5))).toEqual([5, 15, 45, 135]);
    expect(retryDelaySeconds(20, 5)).toBe(7200);
    const first = new Date('2026-11-27T00:00:00Z');
    expect(nextAttemptAt(first, 1, first, 5)).toEqual(new Date('2026-11-27T00:00:05Z'));
    expect(nextAttemptAt(first, 12, new Date('2026-11-27T23:00:00Z'), 5)).toBeUndefined();
  });

  it('refuses to connect to a private address unless allowed, and never follows a redirect', async () => {
    const server = createServer((request, response) => {
      if (request.url === '/moved') response.writeHead(302, { location: 'http://169.254.169.254/' }).end();
      else response.writeHead(204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const strict = httpWebhookSender({ allowPrivate: false, timeoutMs: 2000 });
      expect(await strict(`${base}/ok`, {}, '{}')).toMatchObject({ status: null, error: expect.stringMatching(/^refused/) });
      expect(await strict(`http://localhost:${(server.address() as AddressInfo).port}/ok`, {}, '{}')).toMatchObject({ status: null, error: expect.stringMatching(/^refused/) });
      const local = httpWebhookSender({ allowPrivate: true, timeoutMs: 2000 });
      expect(await local(`${base}/ok`, {}, '{}')).toMatchObject({ status: 204, error: null });
      expect(await local(`${base}/moved`, {}, '{}')).toMatchObject({ status: 302, error: 'redirect not followed' });
    } finally {
      server.close();
    }
  });

  it('signs as Standard Webhooks verifies', () => {
    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const timestamp = new Date();
    const body = JSON.stringify({ type: 'job.paused', timestamp: timestamp.toISOString(), data: { accountId: 'acc_1' } });
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign('msg_1', new Date(Math.floor(timestamp.getTime() / 1000) * 1000), body) };
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({ type: 'job.paused' });
  });
});
