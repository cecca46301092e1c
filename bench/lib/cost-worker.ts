import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { MAX_RESULTS_PER_REQUEST } from '../../shared/contract/device.js';
import { observeNewClients } from '../../shared/store/clients.js';
import { AwsMeter, type MeterSnapshot } from './aws-meter.js';
import type { DeployedFunction } from './deployed.js';

/**
 * One "container" of the device API for the cost model, run as its own process so every batch
 * size starts cold, as a fresh Lambda container would: the real handlers of functions/device-authorizations and functions/device-api
 * (and the real authorizer) imported in-process with the deployed functions' environment, the
 * meter attached to the SDK clients they build, driven through authorize → report results for N
 * units. API Gateway's authorizer cache is reproduced (one authorizer run per token per TTL).
 * Log output of the functions goes to this process's stdout, which the parent counts as
 * CloudWatch Logs ingestion. The result is written as JSON to the file named by the job.
 */
export interface CostJob {
  /** The device API's two functions: results (and other routes), and authorizations. Same memory and architecture. */
  device: DeployedFunction;
  authorizations: DeployedFunction;
  authorizer: DeployedFunction;
  authorizerTtlSeconds: number;
  jobId: string;
  /** One programmer per lane, each asking sequentially. */
  tokens: string[];
  batch: number;
  units: number;
  /** Every n-th unit reports a failure (the results item then carries an error code). */
  failureEvery: number;
  resultFile: string;
}

export interface InvocationStats {
  count: number;
  totalMs: number;
  /** Sum of each invocation's duration rounded up to 1 ms, as Lambda bills it. */
  billedMs: number;
  p50: number;
  p95: number;
  byRoute: Record<string, number>;
}

export interface CostRun {
  batch: number;
  units: number;
  authorizations: number;
  reports: number;
  lanes: number;
  wallSeconds: number;
  moduleInitMs: number;
  /** Calls made while importing the handlers (session keys, warm-ups…), included in `aws`. */
  initAws: MeterSnapshot;
  aws: MeterSnapshot;
  apiRequests: number;
  /** Requests the rate limits refused (429) and the worker sent again after Retry-After. */
  throttledRetries: number;
  device: InvocationStats;
  authorizer: InvocationStats;
  jobCounters?: unknown;
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

function stats(durations: number[], byRoute: Record<string, number>): InvocationStats {
  const sorted = [...durations].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return {
    count: durations.length,
    totalMs: Math.round(durations.reduce((s, d) => s + d, 0) * 10) / 10,
    billedMs: durations.reduce((s, d) => s + Math.ceil(d), 0),
    p50: Math.round(at(0.5) * 10) / 10,
    p95: Math.round(at(0.95) * 10) / 10,
    byRoute,
  };
}

function lambdaContext(fn: DeployedFunction): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: fn.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${fn.functionName}`,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as CostJob;
  // The deployed functions' own variables; NODE_OPTIONS means nothing to an already running process.
  for (const [key, value] of Object.entries({ ...job.authorizer.environment, ...job.device.environment, ...job.authorizations.environment })) {
    if (key !== 'NODE_OPTIONS') process.env[key] = value;
  }
  const meter = new AwsMeter();
  observeNewClients((client) => meter.attach(client));
  const initStarted = performance.now();
  const device = (await import('../../functions/device-api/index.js')).handler as unknown as Handler;
  const authorize = (await import('../../functions/device-authorizations/index.js')).handler as unknown as Handler;
  const authorizer = (await import('../../functions/authorizer/index.js')).handler as unknown as Handler;
  const moduleInitMs = performance.now() - initStarted;
  const initAws = meter.snapshot();

  const deviceDurations: number[] = [];
  const authorizerDurations: number[] = [];
  const deviceRoutes: Record<string, number> = {};
  const authorizerRoutes: Record<string, number> = {};
  let apiRequests = 0;
  const cache = new Map<string, { context: Record<string, unknown>; until: number }>();

  const principalFor = async (token: string, routeKey: string): Promise<Record<string, unknown>> => {
    const cached = cache.get(token);
    if (cached && cached.until > Date.now()) return cached.context;
    const started = performance.now();
    const answer = (await authorizer(
      {
        version: '2.0',
        type: 'REQUEST',
        routeArn: `arn:aws:execute-api:us-east-1:000000000000:bench/$default/${routeKey.replace(' ', '')}`,
        identitySource: [`Bearer ${token}`],
        routeKey,
        rawPath: routeKey.split(' ')[1],
        rawQueryString: '',
        headers: { authorization: `Bearer ${token}` },
        requestContext: { http: { method: routeKey.split(' ')[0], path: routeKey.split(' ')[1] } },
      },
      lambdaContext(job.authorizer),
    )) as { isAuthorized: boolean; context: Record<string, unknown> };
    authorizerDurations.push(performance.now() - started);
    authorizerRoutes[routeKey] = (authorizerRoutes[routeKey] ?? 0) + 1;
    cache.set(token, { context: answer.context, until: Date.now() + job.authorizerTtlSeconds * 1000 });
    return answer.context;
  };

  let throttledRetries = 0;
  const call = async <T>(token: string, method: string, path: string, body: unknown): Promise<T> => {
    const routeKey = `${method} ${path}`;
    const principal = await principalFor(token, routeKey);
    apiRequests += 1;
    const now = Date.now();
    const event = {
      version: '2.0',
      routeKey: '$default',
      rawPath: path,
      rawQueryString: '',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', host: '127.0.0.1' },
      requestContext: {
        accountId: '000000000000',
        apiId: 'bench',
        domainName: '127.0.0.1',
        domainPrefix: 'bench',
        http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'flashline-bench' },
        requestId: randomUUID(),
        routeKey: '$default',
        stage: '$default',
        time: new Date(now).toISOString(),
        timeEpoch: now,
        authorizer: { lambda: principal },
      },
      body: JSON.stringify(body),
      isBase64Encoded: false,
    };
    const started = performance.now();
    // As API Gateway routes it (infra/constructs/http-api.ts).
    const [handler, fn] = routeKey === 'POST /v1/device/authorizations' ? [authorize, job.authorizations] : [device, job.device];
    const response = (await handler(event, lambdaContext(fn))) as APIGatewayProxyStructuredResultV2;
    deviceDurations.push(performance.now() - started);
    deviceRoutes[routeKey] = (deviceRoutes[routeKey] ?? 0) + 1;
    const status = response.statusCode ?? 200;
    // The programmer's rate limit refused it: back off as the typed client does (Retry-After)
    // and send the same request again. The refusal is metered like any request; its retry too.
    if (status === 429 && response.headers?.['retry-after']) {
      throttledRetries += 1;
      await new Promise((resolve) => setTimeout(resolve, Number(response.headers?.['retry-after']) * 1000));
      return call<T>(token, method, path, body);
    }
    if (status >= 300) throw new Error(`${routeKey} answered ${status}: ${String(response.body)}`);
    return JSON.parse(String(response.body)) as T;
  };

  let nextUnit = 0;
  let authorizations = 0;
  let reports = 0;
  const started = performance.now();
  await Promise.all(
    job.tokens.map(async (token) => {
      for (;;) {
        const units = Math.min(job.batch, job.units - nextUnit);
        if (units <= 0) return;
        const first = nextUnit;
        nextUnit += units;
        const authorization = await call<{ authorizationId: string; serials: string[] }>(token, 'POST', '/v1/device/authorizations', {
          jobId: job.jobId,
          units,
          nonce: `cost-${randomUUID()}`,
        });
        authorizations += 1;
        const results = authorization.serials.map((serial, i) =>
          (first + i + 1) % job.failureEvery === 0 ? { serial, status: 'failure', errorCode: 'verify_failed', durationMs: 900 } : { serial, status: 'success', durationMs: 850 },
        );
        for (let i = 0; i < results.length; i += MAX_RESULTS_PER_REQUEST) {
          await call(token, 'POST', '/v1/device/results', { authorizationId: authorization.authorizationId, results: results.slice(i, i + MAX_RESULTS_PER_REQUEST) });
          reports += 1;
        }
      }
    }),
  );
  const wallSeconds = (performance.now() - started) / 1000;
  const run: CostRun = {
    batch: job.batch,
    units: job.units,
    authorizations,
    reports,
    lanes: job.tokens.length,
    wallSeconds: Math.round(wallSeconds * 100) / 100,
    moduleInitMs: Math.round(moduleInitMs),
    initAws,
    aws: meter.snapshot(),
    apiRequests,
    throttledRetries,
    device: stats(deviceDurations, deviceRoutes),
    authorizer: stats(authorizerDurations, authorizerRoutes),
  };
  writeFileSync(job.resultFile, JSON.stringify(run));
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`cost worker failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
