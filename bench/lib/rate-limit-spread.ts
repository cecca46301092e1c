import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mulberry32 } from '../../cli/simulate/prng.js';
import { ENV } from '../../shared/config.js';
import { DEFAULT_RATE_LIMITS, PASS_INTERVAL_MS } from '../../shared/domain/rate-limits.js';
import { createDocumentClient } from '../../shared/store/clients.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { RateLimiter } from '../../shared/store/rate-limits.js';
import type { DeployedApi } from './deployed.js';
import { round } from './sweep.js';

/**
 * What the rate limits cost when a factory-scale deployment spreads each programmer's requests
 * over many containers: the cost model's single container, asked back to back, leases its
 * buckets in chunks, but at scale a container sees a given programmer (or a quiet account)
 * once in minutes. Here the real `RateLimiter`s (one per container) run against the emulator's
 * table on a simulated clock: one account of the capacity scenario (its programmers, each
 * asking twice per authorization, an authorization and a report), every request sent to a
 * container picked at random, as Lambda hands a request to any idle environment. The same
 * arrivals run with passes and without, and every DynamoDB call is counted.
 */
export interface SpreadStep {
  containers: number;
  requests: number;
  refused: number;
  /** Lease writes (conditional UpdateItems) per request, with the functions' passes. */
  writesPerRequest: number;
  /** The same arrivals with passes turned off. */
  writesPerRequestWithoutPasses: number;
}

export interface SpreadResult {
  programmersPerAccount: number;
  requestsPerSecondPerProgrammer: number;
  simulatedSeconds: number;
  passIntervalMs: number;
  steps: SpreadStep[];
}

/** Long enough that a container's one lease per account and 5 minutes (`LEARNT_LIMIT_FRESH_MS`) weighs as it does in hours of service. */
const SIMULATED_SECONDS = 900;
const CONTAINER_COUNTS = [16, 50, 200];

interface Arrival {
  atMs: number;
  programmer: number;
  container: number;
}

/** Poisson arrivals per programmer, each routed to a container at random. */
function arrivals(programmers: number, perSecond: number, containers: number, seconds: number): Arrival[] {
  // Seeded: the same arrivals and routing in every run and in both arms.
  const random = mulberry32(20261128 + containers);
  const all: Arrival[] = [];
  for (let programmer = 0; programmer < programmers; programmer += 1) {
    for (let at = -Math.log(1 - random()) / perSecond; at < seconds; at += -Math.log(1 - random()) / perSecond) {
      all.push({ atMs: Math.round(at * 1000), programmer, container: Math.floor(random() * containers) });
    }
  }
  return all.sort((a, b) => a.atMs - b.atMs);
}

async function simulate(db: Db, counted: { writes: number }, plan: Arrival[], containers: number, passes: boolean): Promise<{ writes: number; refused: number }> {
  const accountId = `acc_spread${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let clock = 1_900_000_000_000;
  const limiters = Array.from({ length: containers }, () => new RateLimiter(db, DEFAULT_RATE_LIMITS, () => clock, passes));
  const before = counted.writes;
  let refused = 0;
  for (const arrival of plan) {
    clock = 1_900_000_000_000 + arrival.atMs;
    try {
      await limiters[arrival.container]!.admit({ kind: 'programmer', accountId, programmerId: `prg_${arrival.programmer}` });
    } catch {
      refused += 1;
    }
  }
  return { writes: counted.writes - before, refused };
}

export async function measureRateLimitSpread(deployed: DeployedApi, log: (line: string) => void): Promise<SpreadResult> {
  const scenario = (JSON.parse(readFileSync(new URL('../quotas.json', import.meta.url), 'utf8')) as { scenario: { programmers: number; authorizationsPerSecond: number; accounts: number } }).scenario;
  const programmersPerAccount = Math.round(scenario.programmers / scenario.accounts);
  // An authorization and its report: two device requests per authorization.
  const requestsPerSecondPerProgrammer = (2 * scenario.authorizationsPerSecond) / scenario.programmers;
  const doc = createDocumentClient();
  const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
  const counted = { writes: 0 };
  const countingDoc = Object.assign(Object.create(doc) as typeof doc, {
    send: (command: unknown) => {
      counted.writes += 1;
      return send(command);
    },
  });
  const db: Db = { doc: countingDoc, table: deployed.device.environment[ENV.TABLE_NAME]!, events: deployed.device.environment[ENV.EVENTS_TABLE_NAME]!, cursors: NO_CURSORS };
  const steps: SpreadStep[] = [];
  for (const containers of CONTAINER_COUNTS) {
    const plan = arrivals(programmersPerAccount, requestsPerSecondPerProgrammer, containers, SIMULATED_SECONDS);
    const withPasses = await simulate(db, counted, plan, containers, true);
    const withoutPasses = await simulate(db, counted, plan, containers, false);
    const step: SpreadStep = {
      containers,
      requests: plan.length,
      refused: withPasses.refused + withoutPasses.refused,
      writesPerRequest: round(withPasses.writes / plan.length, 3),
      writesPerRequestWithoutPasses: round(withoutPasses.writes / plan.length, 3),
    };
    steps.push(step);
    log(`rate-limit spread over ${containers} containers: ${step.writesPerRequest} lease writes per request (without passes ${step.writesPerRequestWithoutPasses}), ${step.refused} refused`);
  }
  return { programmersPerAccount, requestsPerSecondPerProgrammer, simulatedSeconds: SIMULATED_SECONDS, passIntervalMs: PASS_INTERVAL_MS, steps };
}

export function renderRateLimitSpread(result: SpreadResult): string {
  return [
    `Rate-limit leases at factory scale: one account's ${result.programmersPerAccount} programmers, ${result.requestsPerSecondPerProgrammer} requests/s each, routed at random over N containers, ${result.simulatedSeconds} s simulated (a pass per container and bucket every ${result.passIntervalMs / 1000} s):`,
    ...result.steps.map((s) => `  ${String(s.containers).padStart(3)} containers: ${s.writesPerRequest} lease writes per request with passes, ${s.writesPerRequestWithoutPasses} without (${s.requests} requests, ${s.refused} refused)`),
  ].join('\n');
}
