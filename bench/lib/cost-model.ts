import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../../scripts/lib/deploy.js';
import type { CostJob, CostRun } from './cost-worker.js';
import type { DeployedApi } from './deployed.js';
import { type Line, directJob } from './fixtures.js';

export const PRICES_FILE = path.join(ROOT, 'bench', 'prices.json');

export interface Prices {
  asOf: string;
  region: string;
  sources: Record<string, string>;
  dynamodb: { writeRequestUnitPerMillion: number; readRequestUnitPerMillion: number };
  kms: { symmetricRequestsPer10k: number; asymmetricEccRequestsPer10k: number; asymmetricCommands: string[] };
  apiGateway: { httpApiRequestsPerMillion: number; restApiRequestsPerMillion: number };
  lambda: { requestsPerMillion: number; gbSecond: Record<string, number> };
  s3: { getRequestsPer1000: number };
  cloudwatchLogs: { ingestionPerGb: number };
}

/** Counts per 1,000 units, straight from what the worker measured. */
export interface PerThousandUnits {
  dynamodbCalls: number;
  dynamodbCallsByOperation: Record<string, number>;
  dynamodbReadUnits: number;
  dynamodbWriteUnits: number;
  kmsCalls: number;
  kmsCallsByCommand: Record<string, number>;
  apiGatewayRequests: number;
  lambdaInvocations: { device: number; authorizer: number };
  lambdaGbSeconds: number;
  logBytes: number;
  s3Gets: number;
}

export interface CostPerMillionUnits {
  dynamodbWrites: number;
  dynamodbReads: number;
  kms: number;
  apiGateway: number;
  lambdaRequests: number;
  lambdaDuration: number;
  cloudwatchLogs: number;
  s3: number;
  total: number;
}

export interface BatchCost {
  batch: number;
  units: number;
  perThousandUnits: PerThousandUnits;
  costPerMillionUnits: CostPerMillionUnits;
  run: CostRun & { logBytes: number };
}

export interface CostModelResult {
  method: string;
  capacityUnits: string;
  prices: { file: string; asOf: string; region: string };
  functions: { device: { memoryMb: number; architecture: string }; authorizer: { memoryMb: number; architecture: string }; authorizerCacheSeconds: number };
  batches: BatchCost[];
  targets: {
    kmsCallsPer1000UnitsAtBatch10: { value: number; limit: number; ok: boolean };
    costPerMillionUnitsAtBatch100: { value: number; limit: number; ok: boolean };
  };
}

export const COST_PLAN = [
  { batch: 1, units: 500 },
  { batch: 10, units: 5000 },
  { batch: 100, units: 5000 },
];
// One programmer asking sequentially: a Lambda container serves one request at a time, so the
// measured durations are a container's; contention between programmers is the sweep's subject.
const LANES = 1;
const FAILURE_EVERY = 50;

const round = (value: number, digits = 4) => Number(value.toPrecision(digits));

/** Runs one fresh worker process per batch size and turns its counts into prices. */
export async function runCostModel(line: Line, deployed: DeployedApi, log: (line: string) => void): Promise<CostModelResult> {
  const prices = JSON.parse(readFileSync(PRICES_FILE, 'utf8')) as Prices;
  const tokens = line.programmers.slice(0, LANES).map((p) => p.token);
  if (tokens.length < LANES) throw new Error(`the cost model needs ${LANES} programmers`);
  const batches: BatchCost[] = [];
  for (const { batch, units } of COST_PLAN) {
    const jobId = await directJob(line, `bench cost batch ${batch}`, units);
    const run = await runWorker({ device: deployed.device, authorizations: deployed.authorizations, authorizer: deployed.authorizer, authorizerTtlSeconds: deployed.authorizerTtlSeconds, jobId, tokens, batch, units, failureEvery: FAILURE_EVERY });
    const perThousandUnits = perThousand(run, deployed);
    const costPerMillionUnits = costOf(perThousandUnits, prices, deployed);
    batches.push({ batch, units, perThousandUnits, costPerMillionUnits, run });
    log(`cost model, batch ${batch}: ${units} units in ${run.wallSeconds} s; per 1,000 units ${perThousandUnits.kmsCalls} KMS calls, ${perThousandUnits.dynamodbWriteUnits} WCU, ${perThousandUnits.dynamodbReadUnits} RCU; $${costPerMillionUnits.total} per million units`);
  }
  const batch10 = batches.find((b) => b.batch === 10)!;
  const batch100 = batches.find((b) => b.batch === 100)!;
  return {
    method:
      "The device API's real handlers (functions/device-authorizations for authorizations, functions/device-api for results) and the authorizer run in a fresh process per batch size with the deployed functions' environment, against the emulator; a meter on the SDK clients that shared/store/clients.ts builds counts every DynamoDB, KMS and S3 call (module init included). Each unit is authorized then reported (2% failures) by one programmer asking sequentially (a container serves one request at a time; contention is measured by the sweep); API Gateway requests = handler invocations; authorizer invocations follow API Gateway's cache (one per token per cache TTL).",
    capacityUnits:
      'DynamoDB write units: the emulator\'s ConsumedCapacity (ReturnConsumedCapacity TOTAL on every call; it sizes writes by DynamoDB\'s rules). Read units: computed from the items returned (4 KB units; strongly consistent 1, eventually 0.5, transactional 2; a missing item 1), because the emulator answers reads with a flat figure (GetItem, Query) or nothing (BatchGetItem). See bench/lib/aws-meter.ts.',
    prices: { file: path.relative(ROOT, PRICES_FILE), asOf: prices.asOf, region: prices.region },
    functions: {
      device: { memoryMb: deployed.device.memoryMb, architecture: deployed.device.architecture },
      authorizer: { memoryMb: deployed.authorizer.memoryMb, architecture: deployed.authorizer.architecture },
      authorizerCacheSeconds: deployed.authorizerTtlSeconds,
    },
    batches,
    targets: {
      kmsCallsPer1000UnitsAtBatch10: { value: batch10.perThousandUnits.kmsCalls, limit: 1, ok: batch10.perThousandUnits.kmsCalls <= 1 },
      costPerMillionUnitsAtBatch100: { value: batch100.costPerMillionUnits.total, limit: 0.1, ok: batch100.costPerMillionUnits.total <= 0.1 },
    },
  };
}

async function runWorker(job: Omit<CostJob, 'resultFile'>): Promise<CostRun & { logBytes: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'flashline-cost-'));
  try {
    const jobFile = path.join(dir, 'job.json');
    const resultFile = path.join(dir, 'result.json');
    writeFileSync(jobFile, JSON.stringify({ ...job, resultFile }));
    const logBytes = await new Promise<number>((resolve, reject) => {
      const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [path.join(ROOT, 'bench', 'lib', 'cost-worker.ts'), jobFile], {
        cwd: ROOT,
        env: process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // The functions' own log lines: what CloudWatch Logs would ingest from them.
      let bytes = 0;
      let errors = '';
      child.stdout.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength;
      });
      child.stderr.on('data', (chunk: Buffer) => {
        errors += chunk.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`cost worker (batch ${job.batch}) exited ${code}: ${errors.slice(-3000)}`))));
    });
    return { ...(JSON.parse(readFileSync(resultFile, 'utf8')) as CostRun), logBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function perThousand(run: CostRun & { logBytes: number }, deployed: DeployedApi): PerThousandUnits {
  const k = 1000 / run.units;
  const per = (value: number) => round(value * k);
  const gbSeconds = (ms: number, memoryMb: number) => (ms / 1000) * (memoryMb / 1024);
  return {
    dynamodbCalls: per(run.aws.dynamodb.calls),
    dynamodbCallsByOperation: Object.fromEntries(Object.entries(run.aws.dynamodb.byOperation).map(([op, c]) => [op, per(c.calls)])),
    dynamodbReadUnits: per(run.aws.dynamodb.readUnits),
    dynamodbWriteUnits: per(run.aws.dynamodb.writeUnits),
    kmsCalls: per(run.aws.kms.calls),
    kmsCallsByCommand: Object.fromEntries(Object.entries(run.aws.kms.byCommand).map(([command, c]) => [command, per(c.calls)])),
    apiGatewayRequests: per(run.apiRequests),
    lambdaInvocations: { device: per(run.device.count), authorizer: per(run.authorizer.count) },
    lambdaGbSeconds: per(gbSeconds(run.device.billedMs, deployed.device.memoryMb) + gbSeconds(run.authorizer.billedMs, deployed.authorizer.memoryMb)),
    logBytes: per(run.logBytes),
    s3Gets: per(run.aws.s3.presignedUrls),
  };
}

function costOf(counts: PerThousandUnits, prices: Prices, deployed: DeployedApi): CostPerMillionUnits {
  const m = 1000; // per 1,000 units → per million units
  const gbSecondPrice = (arch: string) => prices.lambda.gbSecond[arch] ?? prices.lambda.gbSecond.x86_64!;
  const asymmetric = new Set(prices.kms.asymmetricCommands);
  const kmsPerThousand = Object.entries(counts.kmsCallsByCommand).reduce(
    (sum, [command, calls]) => sum + calls * (asymmetric.has(command) ? prices.kms.asymmetricEccRequestsPer10k : prices.kms.symmetricRequestsPer10k) / 10_000,
    0,
  );
  // Both functions share one architecture in this stack; price duration by the device function's.
  const parts = {
    dynamodbWrites: (counts.dynamodbWriteUnits * m * prices.dynamodb.writeRequestUnitPerMillion) / 1e6,
    dynamodbReads: (counts.dynamodbReadUnits * m * prices.dynamodb.readRequestUnitPerMillion) / 1e6,
    kms: kmsPerThousand * m,
    apiGateway: (counts.apiGatewayRequests * m * prices.apiGateway.httpApiRequestsPerMillion) / 1e6,
    lambdaRequests: ((counts.lambdaInvocations.device + counts.lambdaInvocations.authorizer) * m * prices.lambda.requestsPerMillion) / 1e6,
    lambdaDuration: counts.lambdaGbSeconds * m * gbSecondPrice(deployed.device.architecture),
    cloudwatchLogs: ((counts.logBytes * m) / 1024 ** 3) * prices.cloudwatchLogs.ingestionPerGb,
    s3: ((counts.s3Gets * m) / 1000) * prices.s3.getRequestsPer1000,
  };
  const total = Object.values(parts).reduce((sum, value) => sum + value, 0);
  return { ...(Object.fromEntries(Object.entries(parts).map(([key, value]) => [key, round(value, 3)])) as Omit<CostPerMillionUnits, 'total'>), total: round(total, 3) };
}

export function renderCostModel(cost: CostModelResult): string {
  const header = ['per 1,000 units', ...cost.batches.map((b) => `batch ${b.batch}`)];
  const row = (label: string, pick: (b: BatchCost) => string | number): string[] => [label, ...cost.batches.map((b) => String(pick(b)))];
  const operations = [...new Set(cost.batches.flatMap((b) => Object.keys(b.perThousandUnits.dynamodbCallsByOperation)))].sort();
  const kmsCommands = [...new Set(cost.batches.flatMap((b) => Object.keys(b.perThousandUnits.kmsCallsByCommand)))].sort();
  const rows: string[][] = [
    header,
    row('units measured', (b) => b.units),
    row('DynamoDB calls', (b) => b.perThousandUnits.dynamodbCalls),
    ...operations.map((op) => row(`  ${op}`, (b) => b.perThousandUnits.dynamodbCallsByOperation[op] ?? 0)),
    row('DynamoDB write units', (b) => b.perThousandUnits.dynamodbWriteUnits),
    row('DynamoDB read units', (b) => b.perThousandUnits.dynamodbReadUnits),
    row('KMS calls', (b) => b.perThousandUnits.kmsCalls),
    ...kmsCommands.map((command) => row(`  ${command}`, (b) => b.perThousandUnits.kmsCallsByCommand[command] ?? 0)),
    row('API Gateway requests', (b) => b.perThousandUnits.apiGatewayRequests),
    row('Lambda invocations (device + authorizer)', (b) => `${b.perThousandUnits.lambdaInvocations.device} + ${b.perThousandUnits.lambdaInvocations.authorizer}`),
    row('Lambda GB-s', (b) => b.perThousandUnits.lambdaGbSeconds),
    row('log bytes', (b) => Math.round(b.perThousandUnits.logBytes)),
    row('S3 GETs', (b) => b.perThousandUnits.s3Gets),
    ['$ per million units', ...cost.batches.map(() => '')],
    row('  DynamoDB writes', (b) => b.costPerMillionUnits.dynamodbWrites),
    row('  DynamoDB reads', (b) => b.costPerMillionUnits.dynamodbReads),
    row('  KMS', (b) => b.costPerMillionUnits.kms),
    row('  API Gateway', (b) => b.costPerMillionUnits.apiGateway),
    row('  Lambda requests', (b) => b.costPerMillionUnits.lambdaRequests),
    row('  Lambda duration', (b) => b.costPerMillionUnits.lambdaDuration),
    row('  CloudWatch Logs', (b) => b.costPerMillionUnits.cloudwatchLogs),
    row('  S3', (b) => b.costPerMillionUnits.s3),
    row('  total', (b) => b.costPerMillionUnits.total),
  ];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
  const t = cost.targets;
  return [
    `Counted AWS calls and cost (prices ${cost.prices.file}, ${cost.prices.region}, as of ${cost.prices.asOf}; device function ${cost.functions.device.memoryMb} MB ${cost.functions.device.architecture}):`,
    table,
    `KMS calls per 1,000 units at batch 10: ${t.kmsCallsPer1000UnitsAtBatch10.value} (target ≤ ${t.kmsCallsPer1000UnitsAtBatch10.limit}: ${t.kmsCallsPer1000UnitsAtBatch10.ok ? 'met' : 'NOT met'})`,
    `Cost per million units at batch 100: $${t.costPerMillionUnitsAtBatch100.value} (target ≤ $${t.costPerMillionUnitsAtBatch100.limit}: ${t.costPerMillionUnitsAtBatch100.ok ? 'met' : 'NOT met'})`,
    `Capacity units: ${cost.capacityUnits}`,
  ].join('\n');
}

/** How many of the busiest partitions and items a stored run keeps. */
const HOTTEST_KEPT = 10;

function hottest<T extends { writeUnits: number; readUnits: number }>(counts: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(counts)
      .sort(([, a], [, b]) => b.writeUnits + b.readUnits - (a.writeUnits + a.readUnits))
      .slice(0, HOTTEST_KEPT),
  );
}

/**
 * The cost model as bench/results/latest.json keeps it: the per-item and per-partition counts
 * (one entry per result written, megabytes per run) cut to the busiest few, which is all the
 * capacity model reads of them; how many there were stays beside them.
 */
export function forStorage(cost: CostModelResult): CostModelResult {
  return {
    ...cost,
    batches: cost.batches.map((batch) => {
      const dynamodb = batch.run.aws.dynamodb;
      return {
        ...batch,
        run: {
          ...batch.run,
          aws: {
            ...batch.run.aws,
            dynamodb: {
              ...dynamodb,
              partitions: hottest(dynamodb.partitions),
              items: hottest(dynamodb.items),
              distinctPartitions: Object.keys(dynamodb.partitions).length,
              distinctItems: Object.keys(dynamodb.items).length,
            },
          },
        },
      };
    }),
  };
}
