import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../../scripts/lib/deploy.js';
import type { BatchCost, CostModelResult } from './cost-model.js';
import type { DeployedApi } from './deployed.js';

/**
 * The capacity model of docs/capacity.md, computed from the cost model's counts (nothing else
 * measured enters it): what the scenario of bench/quotas.json (10,000 programmers, 2,000
 * authorizations/s, 1,000 accounts) asks of each default AWS quota at each batch size, and which
 * one it hits first.
 */
export const QUOTAS_FILE = path.join(ROOT, 'bench', 'quotas.json');

interface Quota {
  value: number;
  burst?: number;
  what: string;
  source: string;
  liftedBy: string;
  commands?: string[];
}

interface Quotas {
  asOf: string;
  scenario: { programmers: number; authorizationsPerSecond: number; accounts: number };
  quotas: Record<string, Quota>;
}

export interface Demand {
  quota: string;
  what: string;
  demand: number;
  limit: number;
  utilization: number;
  /** How the demand follows from the measured counts. */
  from: string;
  liftedBy: string;
  source: string;
}

export interface CapacityBatch {
  batch: number;
  unitsPerSecond: number;
  demands: Demand[];
  /** The quota with the highest utilization; `exceeded` when above 1. */
  firstLimit: { quota: string; utilization: number; exceeded: boolean; liftedBy: string };
  /** The most authorizations/s one job can take before its hottest item reaches a partition's limit. */
  oneJobMaxAuthorizationsPerSecond: { value: number; item: string; writeUnitsPerAuthorization: number; readUnitsPerAuthorization: number };
}

export interface CapacityResult {
  quotasFile: string;
  scenario: Quotas['scenario'];
  batches: CapacityBatch[];
}

const round = (value: number, digits = 3) => (Number.isFinite(value) ? Number(value.toPrecision(digits)) : value);

/** Replaces the ids inside a key with placeholders, so a key reads as its pattern. */
const pattern = (key: string) => key.replace(/[A-Za-z]+_[A-Za-z0-9]{6,}/g, '{id}').replace(/[0-9a-f-]{20,}/g, '{id}');

export function capacityModel(cost: CostModelResult, deployed: DeployedApi): CapacityResult {
  const quotas = JSON.parse(readFileSync(QUOTAS_FILE, 'utf8')) as Quotas;
  const { programmers, authorizationsPerSecond: rate, accounts } = quotas.scenario;
  const q = quotas.quotas;
  const demand = (key: string, value: number, from: string, what?: string): Demand => ({
    quota: key,
    what: what ?? q[key]!.what,
    demand: round(value),
    limit: q[key]!.value,
    utilization: round(value / q[key]!.value),
    from,
    liftedBy: q[key]!.liftedBy,
    source: q[key]!.source,
  });
  const tableNames = Object.fromEntries(Object.entries(deployed.device.environment).map(([name, value]) => [value, name]));

  const batches = cost.batches.map((b: BatchCost): CapacityBatch => {
    const run = b.run;
    const perAuthorization = (count: number) => count / run.authorizations;
    const unitsPerSecond = rate * (run.units / run.authorizations);
    const apiRps = perAuthorization(run.apiRequests) * rate;
    const deviceSeconds = run.device.count ? run.device.totalMs / run.device.count / 1000 : 0;
    const authorizerSeconds = run.authorizer.count ? run.authorizer.totalMs / run.authorizer.count / 1000 : 0;
    // API Gateway caches the authorizer's answer per token: at most one run per programmer per TTL.
    const authorizerRps = Math.min(apiRps, deployed.authorizerTtlSeconds > 0 ? programmers / deployed.authorizerTtlSeconds : apiRps);
    const concurrency = perAuthorization(run.device.count) * rate * deviceSeconds + authorizerRps * authorizerSeconds;
    const kmsCommands = new Set(q.kmsEccRps!.commands ?? []);
    const kmsEcc = Object.entries(run.aws.kms.byCommand).reduce((sum, [command, c]) => sum + (kmsCommands.has(command) ? c.calls : 0), 0);
    const demands: Demand[] = [
      demand('apiGatewayRps', apiRps, `${round(perAuthorization(run.apiRequests))} API requests per authorization × ${rate}/s`),
      demand(
        'lambdaConcurrency',
        concurrency,
        `${round(perAuthorization(run.device.count))} device invocations per authorization × ${rate}/s × ${round(deviceSeconds * 1000)} ms mean + ${round(authorizerRps)} authorizer runs/s × ${round(authorizerSeconds * 1000)} ms (durations measured on the emulator)`,
      ),
      demand('kmsEccRps', perAuthorization(kmsEcc) * rate, `${round(perAuthorization(kmsEcc), 4)} ECC Sign/Verify calls per authorization (module init included) × ${rate}/s`),
      ...Object.entries(run.aws.dynamodb.writeUnitsByTable).map(([table, units]) =>
        demand('dynamodbTableWriteUnits', perAuthorization(units) * rate, `${round(perAuthorization(units))} write units per authorization on ${tableNames[table] ?? table} × ${rate}/s`, `${q.dynamodbTableWriteUnits!.what}: ${tableNames[table] ?? table}`),
      ),
      demand('dynamodbTableReadUnits', perAuthorization(run.aws.dynamodb.readUnits) * rate, `${round(perAuthorization(run.aws.dynamodb.readUnits))} read units per authorization (all tables) × ${rate}/s`),
    ];
    // One account's partitions at the scenario's average share of the traffic.
    const hottest = (kind: 'writeUnits' | 'readUnits', map: Record<string, { writeUnits: number; readUnits: number }>) =>
      Object.entries(map).sort(([, a], [, b]) => b[kind] - a[kind])[0] ?? ['none', { writeUnits: 0, readUnits: 0 }];
    const [hotWritePartition, hotWrite] = hottest('writeUnits', run.aws.dynamodb.partitions);
    const [hotReadPartition, hotRead] = hottest('readUnits', run.aws.dynamodb.partitions);
    const perAccount = rate / accounts;
    demands.push(
      demand(
        'dynamodbPartitionWriteUnits',
        perAuthorization(hotWrite.writeUnits) * perAccount,
        `hottest partition ${pattern(hotWritePartition)}: ${round(perAuthorization(hotWrite.writeUnits))} write units per authorization × ${perAccount}/s per account (${rate}/s over ${accounts} accounts)`,
      ),
      demand(
        'dynamodbPartitionReadUnits',
        perAuthorization(hotRead.readUnits) * perAccount,
        `hottest partition ${pattern(hotReadPartition)}: ${round(perAuthorization(hotRead.readUnits))} read units per authorization × ${perAccount}/s per account`,
      ),
    );
    const [hotItem, hotItemCounts] = hottest('writeUnits', run.aws.dynamodb.items);
    const itemWrite = perAuthorization(hotItemCounts.writeUnits);
    const itemRead = perAuthorization(run.aws.dynamodb.items[hotItem]?.readUnits ?? 0);
    const oneJob = Math.min(
      itemWrite > 0 ? q.dynamodbPartitionWriteUnits!.value / itemWrite : Number.POSITIVE_INFINITY,
      itemRead > 0 ? q.dynamodbPartitionReadUnits!.value / itemRead : Number.POSITIVE_INFINITY,
    );
    const top = [...demands].sort((a, b) => b.utilization - a.utilization)[0]!;
    return {
      batch: b.batch,
      unitsPerSecond: round(unitsPerSecond),
      demands,
      firstLimit: { quota: top.what, utilization: top.utilization, exceeded: top.utilization > 1, liftedBy: top.liftedBy },
      oneJobMaxAuthorizationsPerSecond: { value: round(oneJob), item: pattern(hotItem), writeUnitsPerAuthorization: round(itemWrite), readUnitsPerAuthorization: round(itemRead) },
    };
  });
  return { quotasFile: path.relative(ROOT, QUOTAS_FILE), scenario: quotas.scenario, batches };
}

export function renderCapacity(capacity: CapacityResult): string {
  const { programmers, authorizationsPerSecond, accounts } = capacity.scenario;
  const lines = [`Capacity at ${authorizationsPerSecond} authorizations/s from ${programmers} programmers in ${accounts} accounts, against default quotas (${capacity.quotasFile}):`];
  for (const b of capacity.batches) {
    lines.push(`  batch ${b.batch} (${b.unitsPerSecond} units/s):`);
    for (const d of [...b.demands].sort((x, y) => y.utilization - x.utilization)) {
      lines.push(`    ${(d.utilization * 100).toFixed(1).padStart(7)} %  ${String(d.demand).padStart(8)} of ${String(d.limit).padEnd(6)} ${d.what.split(' (')[0]}`);
    }
    lines.push(`    first limit: ${b.firstLimit.quota} at ${(b.firstLimit.utilization * 100).toFixed(1)} %${b.firstLimit.exceeded ? ' — EXCEEDED' : ''}; lifted by ${b.firstLimit.liftedBy}`);
    lines.push(`    one job takes at most ${b.oneJobMaxAuthorizationsPerSecond.value} authorizations/s (hottest item ${b.oneJobMaxAuthorizationsPerSecond.item}: ${b.oneJobMaxAuthorizationsPerSecond.writeUnitsPerAuthorization} write units per authorization)`);
  }
  return lines.join('\n');
}
