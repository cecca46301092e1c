import { createHash, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parseApiFlavour } from '../../infra/api-flavour.js';
import { METRIC, METRICS_NAMESPACE } from '../../shared/observability/metric-names.js';
import { call, createAccount, uniqueName } from '../support/api.js';
import { type Line, linesSince, logGroupOf } from '../support/function-logs.js';

/**
 * Log delivery is asynchronous, and slower while other files load the emulator (a clean-clone
 * run with the fuzzer beside it missed a line after 10 s): read again until `found` holds or a
 * minute has passed.
 */
async function eventually(logGroupName: string, startTime: number, found: (lines: Line[]) => boolean): Promise<{ lines: Line[]; raw: string[] }> {
  const deadline = Date.now() + 60_000;
  let read = await linesSince(logGroupName, startTime);
  while (!found(read.lines) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    read = await linesSince(logGroupName, startTime);
  }
  return read;
}

/**
 * Issue 10's acceptance on the deployed stack: every function's log line carries the request id
 * and the account, and the metrics arrive as EMF in the function's own log group, read back here
 * through CloudWatch Logs as an operator's tools would read them.
 */
describe('logs and metrics of a deployed run', () => {
  const restOnMiniStack = parseApiFlavour(process.env.FLASHLINE_API_FLAVOUR) === 'rest' && inject('emulatorKind') === 'ministack';
  const startTime = Date.now() - 60_000;
  let admin: { token: string; accountId: string };
  let programmer: { token: string; programmerId: string };
  // Distinctive counts, so this run's metric lines are told apart from other tests' on the same stack.
  const units = 200 + Math.floor(Math.random() * 700);
  const failures = 3;
  const successes = 11;
  let authorizationId: string;

  beforeAll(async () => {
    const credentials = await createAccount(uniqueName('Observed'));
    admin = { token: credentials.token, accountId: credentials.accountId };
    const factoryId = (await call('POST', 'v1/factories', { token: admin.token, body: { name: 'Observed line' } })).body.factory.factoryId as string;
    const provisioned = await call('POST', 'v1/programmers', { token: admin.token, body: { name: 'Observed', hardwareSerial: randomUUID(), factoryId } });
    programmer = { token: provisioned.body.credentials.token, programmerId: provisioned.body.programmer.programmerId };
    const image = await call('POST', 'v1/images', {
      token: admin.token,
      body: { name: uniqueName('Observed'), factoryId, contentSha256: createHash('sha256').update(randomUUID()).digest('hex'), sizeBytes: 100, delivery: 'direct', restrictions: { maxCount: 1000 } },
    });
    const jobId = image.body.job.jobId as string;
    const granted = await call('POST', 'v1/device/authorizations', { token: programmer.token, body: { jobId, units, nonce: randomUUID() } });
    expect(granted.status).toBe(201);
    authorizationId = granted.body.authorizationId;
    const serials = granted.body.serials as string[];
    const results = [...serials.slice(0, successes).map((serial) => ({ serial, status: 'success' })), ...serials.slice(successes, successes + failures).map((serial) => ({ serial, status: 'failure', errorCode: 'E42' }))];
    expect((await call('POST', 'v1/device/results', { token: programmer.token, body: { authorizationId, results } })).status).toBe(200);
    // The same report again: recorded once, counted once.
    expect((await call('POST', 'v1/device/results', { token: programmer.token, body: { authorizationId, results } })).body).toEqual({ recorded: 0, duplicates: successes + failures });
    expect((await call('POST', `v1/device/authorizations/${authorizationId}/release`, { token: programmer.token })).status).toBe(200);
    expect((await call('POST', `v1/device/authorizations/${authorizationId}/release`, { token: programmer.token })).status).toBe(200);
    expect((await call('GET', 'v1/jobs/job_doesnotexist0000000', { token: admin.token })).status).toBe(404);
  });

  it('writes the units authorized, succeeded, failed and returned as EMF in the device functions’ log groups, once each, as the one DeviceApi service', async () => {
    const emf = (lines: Line[]) => lines.filter((line) => line._aws?.CloudWatchMetrics?.[0]?.Namespace === METRICS_NAMESPACE);
    // Authorizations are counted by their own function, the rest of the device API by the device function.
    const ours = (lines: Line[]) => emf(lines).filter((line) => line[METRIC.unitsAuthorized] === units);
    const authorized = await eventually(await logGroupOf('DeviceAuthorizations'), startTime, (read) => ours(read).length > 0);
    expect(ours(authorized.lines)).toHaveLength(1);
    expect(ours(authorized.lines)[0]).toMatchObject({ service: 'DeviceApi', [METRIC.authorizations]: 1 });
    const { lines } = await eventually(await logGroupOf('DeviceApi'), startTime, (read) => emf(read).some((line) => line[METRIC.unitsReturned] === units - successes - failures));
    expect(emf(lines).filter((line) => line[METRIC.unitsSucceeded] === successes && line[METRIC.unitsFailed] === failures).length).toBeGreaterThanOrEqual(1);
    expect(emf(lines).filter((line) => line[METRIC.unitsReturned] === units - successes - failures)).toHaveLength(1);
    expect(ours(lines)).toEqual([]);
    for (const line of [...emf(lines), ...emf(authorized.lines)]) {
      expect(line.service).toBe('DeviceApi');
      const dimensions = line._aws.CloudWatchMetrics.flatMap((m: { Dimensions: string[][] }) => m.Dimensions.flat());
      expect(dimensions.every((name: string) => name === 'service' || name === 'code')).toBe(true);
    }
  });

  it('tags every function’s lines with the Lambda request id and the account, and never logs a token', async () => {
    for (const [functionId, message] of [
      ['DeviceApi', 'request'],
      ['DeviceAuthorizations', 'request'],
      ['Authorizer', 'authorize'],
      ['ManagementApi', 'request'],
    ] as const) {
      const group = await logGroupOf(functionId);
      const mine = (lines: Line[]) => lines.filter((line) => line.message === message && line.accountId === admin.accountId);
      const { lines, raw } = await eventually(group, startTime, (read) => mine(read).length > 0);
      expect(mine(lines).length, functionId).toBeGreaterThan(0);
      for (const line of mine(lines)) {
        expect(line.function_request_id, functionId).toMatch(/^[0-9a-f-]{36}$/);
        // MiniStack-specific: its REST API hands the REQUEST authorizer an event without
        // requestContext.requestId (AWS's carries it), so there the authorizer has none to log.
        if (!(functionId === 'Authorizer' && restOnMiniStack)) expect(line.apiRequestId, functionId).toBeTruthy();
        // Both device functions log as the one device API service.
        expect(line.service, functionId).toBe(functionId === 'DeviceAuthorizations' ? 'DeviceApi' : functionId);
      }
      if (functionId !== 'ManagementApi') expect(mine(lines).some((line) => line.programmerId === programmer.programmerId), functionId).toBe(true);
      const everything = raw.join('\n');
      expect(everything, functionId).not.toContain(programmer.token);
      expect(everything, functionId).not.toContain(admin.token);
    }
  }, 240_000);

  it('counts the management API’s refusals by code', async () => {
    const group = await logGroupOf('ManagementApi');
    const refusals = (lines: Line[]) => lines.filter((line) => line[METRIC.refusals] !== undefined && typeof line.code === 'string');
    const { lines } = await eventually(group, startTime, (read) => refusals(read).length > 0);
    expect(refusals(lines)[0]?._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'code']]);
  });
});
