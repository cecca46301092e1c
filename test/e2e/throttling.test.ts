import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { type ApiResponse, call, createAccount, uniqueName } from '../support/api.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The platform operator's command, as an operator runs it. */
async function setRateLimit(accountId: string, routes: 'device' | 'management', rate: number, burst: number): Promise<void> {
  await promisify(execFile)(
    path.join(ROOT, 'node_modules', '.bin', 'tsx'),
    ['scripts/admin.ts', 'set-rate-limit', '--account', accountId, '--routes', routes, '--rate', String(rate), '--burst', String(burst)],
    { cwd: ROOT, env: { ...process.env, ...EMULATOR_AWS_ENV } },
  );
}

/**
 * `lanes` callers at once, each sending `each` requests back to back: a flood that a 2-core
 * emulator serves without starting a Lambda worker per request.
 */
async function flood(lanes: number, each: number, request: () => Promise<ApiResponse>): Promise<ApiResponse[]> {
  const lanesDone = await Promise.all(
    Array.from({ length: lanes }, async () => {
      const answers: ApiResponse[] = [];
      for (let i = 0; i < each; i += 1) answers.push(await request());
      return answers;
    }),
  );
  return lanesDone.flat();
}

function expectThrottled(response: ApiResponse): void {
  expect(response.body).toEqual({ error: { code: 'throttled', message: expect.stringMatching(/^Rate limit of /), details: { retryAfterSeconds: expect.any(Number) } } });
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
  expect(response.body.error.details.retryAfterSeconds).toBe(retryAfter);
}

/**
 * Fair throttling on the deployed stack: one account floods its device and management routes
 * past the limits its platform operator set for it, and is answered 429 with Retry-After and the
 * contract's error body, while another account's programmer and keys are served throughout.
 */
describe('per-account and per-programmer rate limits', () => {
  const noisy = { admin: '', accountId: '', programmer: '' };
  const quiet = { admin: '', programmer: '', jobId: '' };

  const provision = async (admin: string) => {
    const response = await call('POST', 'v1/programmers', { token: admin, body: { name: uniqueName('Throttle'), hardwareSerial: randomUUID() } });
    expect(response.status).toBe(201);
    return response.body.credentials.token as string;
  };

  beforeAll(async () => {
    const noisyCredentials = await createAccount(uniqueName('Noisy'));
    Object.assign(noisy, { admin: noisyCredentials.token, accountId: noisyCredentials.accountId });
    noisy.programmer = await provision(noisy.admin);
    quiet.admin = (await createAccount(uniqueName('Quiet'))).token;
    quiet.programmer = await provision(quiet.admin);
    const factoryId = (await call('GET', 'v1/account', { token: quiet.admin })).body.account.defaultFactoryId;
    const registered = await call('POST', 'v1/images', {
      token: quiet.admin,
      body: { name: uniqueName('Quiet job'), factoryId, contentSha256: 'd'.repeat(64), sizeBytes: 10, delivery: 'direct' },
    });
    expect(registered.status).toBe(201);
    quiet.jobId = registered.body.job.jobId;
    // Small on purpose: the flood below passes them many times over on any machine.
    await setRateLimit(noisy.accountId, 'device', 1, 3);
    await setRateLimit(noisy.accountId, 'management', 1, 3);
  });

  it("a device flood of one account gets 429 throttled with Retry-After while another account's programmer is served", async () => {
    const flooding = flood(4, 10, () => call('GET', 'v1/device/jobs', { token: noisy.programmer }));
    const quietAuthorization = call('POST', 'v1/device/authorizations', { token: quiet.programmer, body: { jobId: quiet.jobId, units: 1, nonce: randomUUID() } });
    const [answers, served] = await Promise.all([flooding, quietAuthorization]);

    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(20);
    expect(statuses).toContain(200);
    for (const answer of answers.filter((a) => a.status === 429)) expectThrottled(answer);
    expect(served.status).toBe(201);
    expect((await call('GET', 'v1/device/jobs', { token: quiet.programmer })).status).toBe(200);
  });

  it("the management routes have their own limit: one account's keys are refused, another's are served", async () => {
    const answers = await flood(3, 8, () => call('GET', 'v1/account', { token: noisy.admin }));
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(10);
    for (const answer of answers.filter((a) => a.status === 429)) expectThrottled(answer);
    expect(answers.every((a) => a.status === 200 || a.status === 429)).toBe(true);
    expect((await call('GET', 'v1/account', { token: quiet.admin })).status).toBe(200);
  });

  it('counts no unauthenticated request against anybody: made-up and malformed tokens get 401', async () => {
    const madeUp = `flp.${noisy.accountId}.prg_${'0'.repeat(20)}.${'A'.repeat(43)}`;
    const answers = [...(await flood(2, 5, () => call('GET', 'v1/device/jobs', { token: madeUp }))), ...(await flood(2, 5, () => call('GET', 'v1/device/jobs', { token: 'not-a-token' })))];
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(401));
    expect(answers[0]!.body.error.code).toBe('unauthenticated');
  });
});
