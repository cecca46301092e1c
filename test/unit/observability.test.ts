import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { daemonAddress, recordAwsCall, sampledTraceContext, subsegmentOf } from '../../shared/aws-lean/xray.js';
import { formatToken, hashSecret, newSecret } from '../../shared/domain/tokens.js';
import { METRIC, METRICS_NAMESPACE } from '../../shared/observability/metric-names.js';
import { count, countAuthorization, countRefusal, countResults, publishMetrics } from '../../shared/observability/metrics.js';
import { lambdaContext } from '../support/lambda-context.js';

// Before the modules above load: Powertools reads the service name when its singletons are built.
vi.hoisted(() => {
  Object.assign(process.env, {
    POWERTOOLS_SERVICE_NAME: 'DeviceApi',
    TABLE_NAME: 'entities',
    EVENTS_TABLE_NAME: 'events',
    SIGNING_KEY_ID: '00000000-0000-0000-0000-000000000000',
    TICKET_KEY_ID: '00000000-0000-0000-0000-000000000001',
    IMAGES_BUCKET: 'images',
  });
  process.env.AWS_REGION ??= 'eu-central-1';
  // The device entry builds its KMS and DynamoDB clients at import; nothing here reaches them.
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
});

const ddb = mockClient(DynamoDBDocumentClient);
const secret = newSecret();
const token = formatToken('programmer', 'acc_1', 'prg_1', secret);

/** Everything Powertools writes (log lines and EMF both go to stdout as JSON lines). */
function captureStdout(): { lines: () => Record<string, any>[]; raw: () => string } {
  const chunks: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  const raw = () => chunks.join('');
  return {
    raw,
    lines: () =>
      raw()
        .split('\n')
        .filter((line) => line.trim().startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, any>),
  };
}

const emfLines = (lines: Record<string, any>[]) => lines.filter((line) => line._aws?.CloudWatchMetrics);

describe('logs and metrics of a request', () => {
  let authorizer: typeof import('../../functions/authorizer/index.js').handler;
  let device: typeof import('../../functions/device-api/index.js').handler;
  // Importing the entries builds their SDK clients: slow on a busy machine, so outside the tests' own timeout.
  beforeAll(async () => {
    ({ handler: authorizer } = await import('../../functions/authorizer/index.js'));
    ({ handler: device } = await import('../../functions/device-api/index.js'));
  }, 60_000);
  beforeEach(() => ddb.reset());
  afterEach(() => vi.restoreAllMocks());

  it('never logs the bearer token the authorizer resolves, and tags its line with the request, account and programmer', async () => {
    const handler = authorizer;
    ddb.on(GetCommand).resolves({ Item: { secretHash: hashSecret(secret), status: 'active', programmerId: 'prg_1' } });
    const out = captureStdout();
    const event = {
      type: 'REQUEST',
      routeKey: 'ANY /v1/device/{proxy+}',
      headers: { authorization: `Bearer ${token}` },
      identitySource: [`Bearer ${token}`],
      requestContext: { requestId: 'api-req-1' },
    } as unknown as APIGatewayRequestAuthorizerEventV2;
    await handler(event, lambdaContext('Authorizer', 'lambda-req-1'));
    expect(out.raw()).not.toContain(token);
    expect(out.raw()).not.toContain(secret);
    const line = out.lines().find((l) => l.message === 'authorize');
    expect(line).toMatchObject({ function_request_id: 'lambda-req-1', apiRequestId: 'api-req-1', accountId: 'acc_1', programmerId: 'prg_1', function_name: 'Authorizer' });
  });

  it('counts a refused token without logging it', async () => {
    const handler = authorizer;
    ddb.on(GetCommand).resolves({});
    const out = captureStdout();
    const event = { type: 'REQUEST', routeKey: 'ANY /v1/{proxy+}', headers: { authorization: `Bearer ${token}` }, requestContext: { requestId: 'api-req-2' } };
    await handler(event as unknown as APIGatewayRequestAuthorizerEventV2, lambdaContext('Authorizer'));
    expect(out.raw()).not.toContain(token);
    const [emf] = emfLines(out.lines());
    expect(emf?.[METRIC.tokensRefused]).toBe(1);
  });

  it('logs an API request with its ids but not its Authorization header, and counts the refusal by code', async () => {
    const handler = device;
    const out = captureStdout();
    const event = {
      version: '2.0',
      routeKey: 'ANY /v1/device/{proxy+}',
      rawPath: '/v1/device/nothing-here',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      requestContext: {
        requestId: 'api-req-3',
        http: { method: 'GET', path: '/v1/device/nothing-here' },
        authorizer: { lambda: { kind: 'programmer', accountId: 'acc_1', programmerId: 'prg_1', credentialId: 'prg_1' } },
      },
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    const response = await handler(event as never, lambdaContext('DeviceApi', 'lambda-req-3'));
    expect(response.statusCode).toBe(404);
    expect(out.raw()).not.toContain(token);
    const requestLine = out.lines().find((l) => l.message === 'request');
    expect(requestLine).toMatchObject({ function_request_id: 'lambda-req-3', apiRequestId: 'api-req-3', accountId: 'acc_1', programmerId: 'prg_1', status: 404 });
    const [refusal] = emfLines(out.lines());
    expect(refusal).toMatchObject({ service: 'DeviceApi', code: 'not_found', [METRIC.refusals]: 1 });
    expect(refusal?._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'code']]);
  });

  it('does not lend one request’s account to the next request of a warm container', async () => {
    const handler = device;
    const out = captureStdout();
    const base = { version: '2.0', headers: {}, isBase64Encoded: false };
    const first = { ...base, requestContext: { requestId: 'a', http: { method: 'GET', path: '/v1/device/x' }, authorizer: { lambda: { kind: 'programmer', accountId: 'acc_1', programmerId: 'prg_1', credentialId: 'prg_1' } } } };
    const second = { ...base, requestContext: { requestId: 'b', http: { method: 'GET', path: '/v1/device/x' } } };
    await handler(first as never, lambdaContext('DeviceApi', 'r1'));
    await handler(second as never, lambdaContext('DeviceApi', 'r2'));
    const secondLine = out.lines().find((l) => l.message === 'request' && l.function_request_id === 'r2');
    expect(secondLine).toBeDefined();
    expect(secondLine?.accountId).toBeUndefined();
    expect(secondLine?.programmerId).toBeUndefined();
  });
});

describe('metric dimensions', () => {
  afterEach(() => vi.restoreAllMocks());

  it('carry the service and, for refusals, the error code: never a job, serial, account or programmer', () => {
    const out = captureStdout();
    countAuthorization(25);
    countResults(10, 3);
    count(METRIC.unitsReturned, 12);
    count(METRIC.kmsErrors);
    count(METRIC.throttles);
    countRefusal('job_not_active');
    publishMetrics();
    const emf = emfLines(out.lines());
    expect(emf.length).toBeGreaterThanOrEqual(2);
    const dimensionNames = new Set(emf.flatMap((line) => line._aws.CloudWatchMetrics.flatMap((m: { Dimensions: string[][] }) => m.Dimensions.flat())));
    expect([...dimensionNames].sort()).toEqual(['code', 'service']);
    for (const line of emf) {
      expect(line._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS_NAMESPACE);
      const metricNames = line._aws.CloudWatchMetrics.flatMap((m: { Metrics: { Name: string }[] }) => m.Metrics.map((metric) => metric.Name));
      // Nothing else on the line: no job, serial or account rides along as a dimension or as metadata.
      expect(Object.keys(line).filter((key) => key !== '_aws' && !metricNames.includes(key)).sort()).toEqual(line.code ? ['code', 'service'] : ['service']);
    }
    const stored = emf.find((line) => line[METRIC.authorizations] !== undefined);
    expect(stored).toMatchObject({
      [METRIC.authorizations]: 1,
      [METRIC.unitsAuthorized]: 25,
      [METRIC.unitsSucceeded]: 7,
      [METRIC.unitsFailed]: 3,
      [METRIC.unitsReturned]: 12,
      [METRIC.kmsErrors]: 1,
      [METRIC.throttles]: 1,
    });
  });

  it('writes nothing for a report whose results were all duplicates', () => {
    const out = captureStdout();
    countResults(0, 0);
    publishMetrics();
    expect(emfLines(out.lines())).toEqual([]);
  });
});

describe('X-Ray subsegments of the lean AWS clients', () => {
  const sampled = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

  it('reads the trace context Lambda sets per invocation, and only when it is sampled', () => {
    expect(sampledTraceContext(sampled)).toEqual({ traceId: '1-5759e988-bd862e3fe1be46a994272793', parentId: '53995c3f42cd8ad8' });
    expect(sampledTraceContext(sampled.replace('Sampled=1', 'Sampled=0'))).toBeUndefined();
    expect(sampledTraceContext(undefined)).toBeUndefined();
    expect(daemonAddress('169.254.79.129:2000')).toEqual({ host: '169.254.79.129', port: 2000 });
    expect(daemonAddress('tcp:127.0.0.1:2000 udp:127.0.0.2:2001')).toEqual({ host: '127.0.0.2', port: 2001 });
  });

  it('describes a call as the X-Ray SDK would: an aws subsegment with operation, table, request id and retries, flagged on error', () => {
    const context = sampledTraceContext(sampled)!;
    const ok = subsegmentOf({ service: 'DynamoDB', operation: 'GetItem', region: 'eu-central-1', startedAt: 1000, endedAt: 1012, httpStatus: 200, requestId: 'R1', retries: 0, tableName: 'entities' }, context);
    expect(ok).toMatchObject({
      name: 'DynamoDB',
      type: 'subsegment',
      namespace: 'aws',
      trace_id: context.traceId,
      parent_id: context.parentId,
      start_time: 1,
      end_time: 1.012,
      aws: { operation: 'GetItem', region: 'eu-central-1', request_id: 'R1', retries: 0, table_name: 'entities' },
      http: { response: { status: 200 } },
    });
    expect(ok.id).toMatch(/^[0-9a-f]{16}$/);
    expect(ok).not.toHaveProperty('error');
    const throttled = subsegmentOf({ service: 'KMS', operation: 'Sign', region: 'eu-central-1', startedAt: 0, endedAt: 5, httpStatus: 400, retries: 2, error: 'ThrottlingException', throttled: true }, context);
    expect(throttled).toMatchObject({ error: true, throttle: true, aws: { retries: 2 } });
    expect(subsegmentOf({ service: 'KMS', operation: 'Sign', region: 'r', startedAt: 0, endedAt: 1, httpStatus: 503, retries: 0, error: 'InternalFailure' }, context)).toMatchObject({ fault: true });
  });

  it('sends the subsegment to the daemon over UDP when sampled', async () => {
    const daemon = createSocket('udp4');
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    const received = new Promise<string>((resolve) => daemon.once('message', (message) => resolve(message.toString('utf8'))));
    const saved = { trace: process.env._X_AMZN_TRACE_ID, daemon: process.env.AWS_XRAY_DAEMON_ADDRESS };
    process.env._X_AMZN_TRACE_ID = sampled;
    process.env.AWS_XRAY_DAEMON_ADDRESS = `127.0.0.1:${(daemon.address() as AddressInfo).port}`;
    try {
      recordAwsCall({ service: 'DynamoDB', operation: 'PutItem', region: 'eu-central-1', startedAt: 0, endedAt: 3, httpStatus: 200, retries: 0, tableName: 'events' });
      const [header, document] = (await received).split('\n');
      expect(JSON.parse(header!)).toEqual({ format: 'json', version: 1 });
      expect(JSON.parse(document!)).toMatchObject({ name: 'DynamoDB', aws: { operation: 'PutItem', table_name: 'events' }, parent_id: '53995c3f42cd8ad8' });
    } finally {
      process.env._X_AMZN_TRACE_ID = saved.trace;
      process.env.AWS_XRAY_DAEMON_ADDRESS = saved.daemon;
      if (saved.trace === undefined) delete process.env._X_AMZN_TRACE_ID;
      if (saved.daemon === undefined) delete process.env.AWS_XRAY_DAEMON_ADDRESS;
      daemon.close();
    }
  });
});

