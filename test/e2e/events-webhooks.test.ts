import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { createHash, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { call, createAccount, uniqueName } from '../support/api.js';
import { type Received, Receiver } from '../support/webhook-receiver.js';

const ALL_EVENTS = ['job.completed', 'job.paused', 'job.resumed', 'job.restarted', 'job.deleted', 'job.yield_below_threshold', 'image.available', 'image.rejected', 'programmer.offline', 'authorization.released'];

describe('events and signed webhooks (api.md "Events and webhooks")', () => {
  let admin: string;
  let factoryId: string;
  let programmer: { token: string; programmerId: string };
  const receiver = new Receiver();
  let webhook: { webhookId: string; secret: string };

  const register = async (extra: Record<string, unknown> = {}) => {
    const response = await call('POST', 'v1/images', {
      token: admin,
      body: { name: uniqueName('Events'), factoryId, contentSha256: createHash('sha256').update(randomUUID()).digest('hex'), sizeBytes: 100, delivery: 'direct', ...extra },
    });
    expect(response.status).toBe(201);
    return response.body as { job: { jobId: string }; image: { imageId: string }; upload?: { url: string; headers: Record<string, string> } };
  };
  const authorize = async (jobId: string, units: number) => {
    const response = await call('POST', 'v1/device/authorizations', { token: programmer.token, body: { jobId, units, nonce: randomUUID() } });
    expect(response.status).toBe(201);
    return response.body as { authorizationId: string; serials: string[] };
  };
  const report = (authorizationId: string, results: { serial: string; status: 'success' | 'failure' }[]) =>
    call('POST', 'v1/device/results', { token: programmer.token, body: { authorizationId, results } });
  const verified = (received: Received, secret: string) => new Webhook(secret).verify(received.body, received.headers as Record<string, string>);

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('Webhooks'))).token;
    factoryId = (await call('POST', 'v1/factories', { token: admin, body: { name: uniqueName('Events line') } })).body.factory.factoryId;
    const provisioned = await call('POST', 'v1/programmers', { token: admin, body: { name: 'Events programmer', hardwareSerial: randomUUID(), factoryId } });
    programmer = { token: provisioned.body.credentials.token, programmerId: provisioned.body.programmer.programmerId };
    const created = await call('POST', 'v1/webhooks', { token: admin, body: { url: await receiver.start(), events: ALL_EVENTS } });
    expect(created.status).toBe(201);
    webhook = { webhookId: created.body.webhook.webhookId, secret: created.body.secret };
  });

  afterAll(() => receiver.stop());

  it('registers a webhook, shows its secret once, lists it and keeps it from other accounts', async () => {
    expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    const read = await call('GET', `v1/webhooks/${webhook.webhookId}`, { token: admin });
    expect(read.status).toBe(200);
    expect(read.body.webhook).toMatchObject({ webhookId: webhook.webhookId, events: ALL_EVENTS });
    expect(JSON.stringify(read.body)).not.toContain(webhook.secret.slice(6));
    const listed = await call('GET', 'v1/webhooks', { token: admin });
    expect(listed.body.items.map((w: { webhookId: string }) => w.webhookId)).toContain(webhook.webhookId);
    expect(JSON.stringify(listed.body)).not.toContain('secret');

    const stranger = (await createAccount(uniqueName('Stranger'))).token;
    for (const [method, path] of [['GET', ''], ['GET', '/deliveries'], ['POST', '/test'], ['DELETE', '']] as const) {
      const response = await call(method, `v1/webhooks/${webhook.webhookId}${path}`, { token: stranger });
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    expect((await call('GET', 'v1/webhooks', { token: stranger })).body.items).toEqual([]);
  });

  it('refuses URLs that are not https (except localhost here), unknown event types, and non-admin callers', async () => {
    const ftp = await call('POST', 'v1/webhooks', { token: admin, body: { url: 'ftp://example.com/hook', events: ['job.paused'] } });
    expect(ftp.status).toBe(400);
    expect(ftp.body.error.details.issues[0].path).toBe('url');
    const plain = await call('POST', 'v1/webhooks', { token: admin, body: { url: 'http://example.com/hook', events: ['job.paused'] } });
    expect(plain.status).toBe(400);
    const unknown = await call('POST', 'v1/webhooks', { token: admin, body: { url: 'https://example.com/hook', events: ['job.exploded'] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.issues[0].path).toMatch(/^events/);
    const author = (await call('POST', 'v1/api-keys', { token: admin, body: { name: 'Author', role: 'author' } })).body.credentials.token;
    expect((await call('POST', 'v1/webhooks', { token: author, body: { url: 'https://example.com/hook', events: ['job.paused'] } })).status).toBe(403);
  });

  it('delivers job.paused and job.resumed, signed so that Standard Webhooks verifies them', async () => {
    const { job } = await register();
    expect((await call('POST', `v1/jobs/${job.jobId}/pause`, { token: admin })).status).toBe(200);
    const pausedAt = Date.now();
    const paused = await receiver.next((event) => event.type === 'job.paused' && event.data.jobId === job.jobId);
    console.log(`job.paused reached the receiver ${paused.receivedAt - pausedAt} ms after the pause was answered`);
    expect(verified(paused, webhook.secret)).toMatchObject({ type: 'job.paused', data: { jobId: job.jobId, factoryId } });
    expect(paused.event.data.accountId).toBeTruthy();
    expect(paused.event.data.by).toMatch(/^key:/);
    expect(() => verified(paused, `whsec_${Buffer.from(randomUUID()).toString('base64')}`)).toThrow();

    expect((await call('POST', `v1/jobs/${job.jobId}/resume`, { token: admin })).status).toBe(200);
    const resumed = await receiver.next((event) => event.type === 'job.resumed' && event.data.jobId === job.jobId);
    expect(verified(resumed, webhook.secret)).toMatchObject({ type: 'job.resumed' });
  });

  it('delivers authorization.released with what went back, and job.completed when the limit is used up', async () => {
    const { job } = await register({ restrictions: { maxCount: 5 } });
    const held = await authorize(job.jobId, 3);
    expect((await report(held.authorizationId, [{ serial: held.serials[0] as string, status: 'success' }])).status).toBe(200);
    const released = await call('POST', `v1/device/authorizations/${held.authorizationId}/release`, { token: programmer.token });
    expect(released.status).toBe(200);
    const event = await receiver.next((e) => e.type === 'authorization.released' && e.data.authorizationId === held.authorizationId);
    expect(verified(event, webhook.secret)).toMatchObject({ data: { jobId: job.jobId, programmerId: programmer.programmerId, units: 3, reported: 1, returned: 2 } });

    await authorize(job.jobId, 4);
    const lastUnitAt = Date.now();
    const completed = await receiver.next((e) => e.type === 'job.completed' && e.data.jobId === job.jobId);
    expect(completed.event.data.counters).toMatchObject({ authorized: 5, remaining: 0 });
    // Issue 10's acceptance bound (not a benchmark: the pipeline has no timer or schedule on this
    // path, so a miss means a lost hop, not a slow machine). The figure goes to the closing note.
    console.log(`job.completed reached the receiver ${completed.receivedAt - lastUnitAt} ms after the last unit was authorized`);
    expect(completed.receivedAt - lastUnitAt).toBeLessThan(10_000);
  });

  it('delivers image.available once an uploaded image is verified', async () => {
    const bytes = new TextEncoder().encode(`image ${randomUUID()}`);
    const response = await call('POST', 'v1/images', {
      token: admin,
      body: { name: uniqueName('Upload'), factoryId, contentSha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length, delivery: 'cloud', encryptionKeyId: 'key-1' },
    });
    expect(response.status).toBe(201);
    const { image, upload } = response.body as { image: { imageId: string }; upload: { url: string; headers: Record<string, string> } };
    expect((await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: bytes })).ok).toBe(true);
    const available = await receiver.next((e) => e.type === 'image.available' && e.data.imageId === image.imageId);
    expect(verified(available, webhook.secret)).toMatchObject({ data: { status: 'available' } });
  });

  it('pauses a job in the very write that records the results crossing its autoPause, as the guardrail, and says so', async () => {
    const { job } = await register({ restrictions: { autoPause: { failureRate: 0.5, minUnits: 4 } } });
    const held = await authorize(job.jobId, 6);
    const [a, b, c, d] = held.serials as [string, string, string, string];
    expect((await report(held.authorizationId, [{ serial: a, status: 'success' }, { serial: b, status: 'failure' }])).status).toBe(200);
    // Two results are in: below minUnits, the job runs on.
    expect((await call('GET', `v1/jobs/${job.jobId}`, { token: admin })).body.job.status).toBe('active');
    expect((await report(held.authorizationId, [{ serial: c, status: 'success' }])).status).toBe(200);
    expect((await call('GET', `v1/jobs/${job.jobId}`, { token: admin })).body.job.status).toBe('active');
    // 2 of 4 failed = 0.5: the report that crosses pauses the job before it answers.
    expect((await report(held.authorizationId, [{ serial: d, status: 'failure' }])).status).toBe(200);
    const read = (await call('GET', `v1/jobs/${job.jobId}`, { token: admin })).body.job;
    expect(read).toMatchObject({ status: 'paused', counters: { succeeded: 2, failed: 2 }, restrictions: { autoPause: { failureRate: 0.5, minUnits: 4 } } });
    // A retried report changes nothing; a further one is refused like any paused job's.
    expect((await report(held.authorizationId, [{ serial: d, status: 'failure' }])).status).toBe(200);
    expect((await call('GET', `v1/jobs/${job.jobId}`, { token: admin })).body.job.counters).toMatchObject({ succeeded: 2, failed: 2 });
    expect((await call('POST', 'v1/device/authorizations', { token: programmer.token, body: { jobId: job.jobId, units: 1, nonce: randomUUID() } })).body.error.code).toBe('job_paused');

    const audit = await call('GET', 'v1/audit', { token: admin });
    expect(audit.body.items.find((r: { action: string; target: { id: string } }) => r.action === 'job.pause' && r.target.id === job.jobId)).toMatchObject({ actor: 'guardrail', details: { succeeded: 2, failed: 2 } });

    const paused = await receiver.next((event) => event.type === 'job.paused' && event.data.jobId === job.jobId);
    expect(verified(paused, webhook.secret)).toMatchObject({ data: { by: 'guardrail', counters: { succeeded: 2, failed: 2 } } });
    const below = await receiver.next((event) => event.type === 'job.yield_below_threshold' && event.data.jobId === job.jobId);
    expect(below.event.data).toMatchObject({ yield: 0.5, autoPause: { failureRate: 0.5, minUnits: 4 } });
  });

  it('takes autoPause on and off with PATCH and refuses a rate outside 0..1', async () => {
    const { job } = await register();
    const bad = await call('PATCH', `v1/jobs/${job.jobId}`, { token: admin, body: { restrictions: { autoPause: { failureRate: 1.5, minUnits: 10 } } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('restrictions.autoPause.failureRate');
    const on = await call('PATCH', `v1/jobs/${job.jobId}`, { token: admin, body: { restrictions: { autoPause: { failureRate: 0.1, minUnits: 10 } } } });
    expect(on.body.job.restrictions.autoPause).toEqual({ failureRate: 0.1, minUnits: 10 });
    const off = await call('PATCH', `v1/jobs/${job.jobId}`, { token: admin, body: { restrictions: { autoPause: null } } });
    expect(off.body.job.restrictions.autoPause).toBeNull();
  });

  it('retries a failing receiver with the same webhook-id until it answers, and lists the attempts', async () => {
    // Issue 10's acceptance: three 500s, then the fourth attempt delivers (the local stack's backoff base is 1 s: 1, 3, 9 s).
    const flaky = new Receiver(3);
    const created = await call('POST', 'v1/webhooks', { token: admin, body: { url: await flaky.start(), events: ['job.paused'] } });
    const { webhookId } = created.body.webhook;
    try {
      const { job } = await register();
      await call('POST', `v1/jobs/${job.jobId}/pause`, { token: admin });
      const delivered = await flaky.next((event) => event.type === 'job.paused' && event.data.jobId === job.jobId);
      const id = delivered.headers['webhook-id'];
      const attempts = flaky.requests.filter((r) => r.headers['webhook-id'] === id);
      expect(attempts).toHaveLength(4);
      expect(new Set(attempts.map((r) => r.body)).size).toBe(1);
      expect([...flaky.messages.keys()].filter((key) => key === id)).toHaveLength(1);
      expect(new Webhook(created.body.secret).verify(delivered.body, delivered.headers as Record<string, string>)).toMatchObject({ type: 'job.paused' });

      let listed: any;
      for (let waited = 0; waited < 30_000; waited += 250) {
        listed = (await call('GET', `v1/webhooks/${webhookId}/deliveries`, { token: admin })).body.items.find((d: { messageId: string }) => d.messageId === id);
        if (listed?.status === 'delivered') break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(listed).toMatchObject({ eventType: 'job.paused', status: 'delivered', nextAttemptAt: null });
      expect(listed.attempts.map((a: { status: number }) => a.status)).toEqual([500, 500, 500, 204]);
    } finally {
      await flaky.stop();
    }
  });

  it('sends a test event on demand, and deletes a webhook', async () => {
    const own = new Receiver();
    const created = await call('POST', 'v1/webhooks', { token: admin, body: { url: await own.start(), events: ['job.deleted'] } });
    const { webhookId } = created.body.webhook;
    try {
      const test = await call('POST', `v1/webhooks/${webhookId}/test`, { token: admin });
      expect(test.status).toBe(201);
      expect(test.body.delivery).toMatchObject({ eventType: 'webhook.test', status: 'pending' });
      const received = await own.next((event) => event.type === 'webhook.test');
      expect(new Webhook(created.body.secret).verify(received.body, received.headers as Record<string, string>)).toMatchObject({ data: { webhookId } });
      expect((await call('DELETE', `v1/webhooks/${webhookId}`, { token: admin })).status).toBe(204);
      expect((await call('GET', `v1/webhooks/${webhookId}`, { token: admin })).status).toBe(404);
      expect((await call('DELETE', `v1/webhooks/${webhookId}`, { token: admin })).status).toBe(404);
    } finally {
      await own.stop();
    }
  });

  it('reports a programmer silent past its factory setting as offline, once', async () => {
    const patched = await call('PATCH', `v1/factories/${factoryId}`, { token: admin, body: { programmerOfflineMinutes: 1 } });
    expect(patched.status).toBe(200);
    expect(patched.body.factory.programmerOfflineMinutes).toBe(1);
    expect((await call('GET', 'v1/device/jobs', { token: programmer.token })).status).toBe(200);
    const seen = (await call('GET', `v1/programmers/${programmer.programmerId}`, { token: admin })).body.programmer.lastSeenAt as string;
    expect(seen).toBeTruthy();

    // The scheduled check, invoked as EventBridge does, for a moment two minutes on: no sleeping.
    const lambda = new LambdaClient({ endpoint: EMULATOR_AWS_ENV.AWS_ENDPOINT_URL, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const check = (at: Date) =>
      lambda.send(new InvokeCommand({ FunctionName: inject('presenceCheckFunctionName'), Payload: Buffer.from(JSON.stringify({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: at.toISOString() })) }));
    expect((await check(new Date(Date.parse(seen) + 30_000))).FunctionError).toBeUndefined();
    expect((await check(new Date(Date.parse(seen) + 120_000))).FunctionError).toBeUndefined();
    const offline = await receiver.next((event) => event.type === 'programmer.offline' && event.data.programmerId === programmer.programmerId);
    expect(verified(offline, webhook.secret)).toMatchObject({ data: { factoryId, lastSeenAt: seen, offlineSince: seen } });

    await check(new Date(Date.parse(seen) + 180_000));
    // A test event goes after any second offline event would have: by then only one is there.
    await call('POST', `v1/webhooks/${webhook.webhookId}/test`, { token: admin });
    await receiver.next((event) => event.type === 'webhook.test');
    expect([...receiver.messages.values()].filter((r) => r.event.type === 'programmer.offline' && r.event.data.programmerId === programmer.programmerId)).toHaveLength(1);
  });
});
