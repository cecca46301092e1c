import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { summarize } from '../../cli/simulate/stats.js';
import { EMULATOR_PORT } from '../../localstack/ministack.js';
import { FlashlineApiError, FlashlineClient } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';
import { type RateLimit, chunkSize } from '../../shared/domain/rate-limits.js';
import { type Line, directJob, measuring, setAccountRateLimit } from './fixtures.js';

/**
 * Fairness under a flood: another account's authorization latency, unloaded and then while one
 * account sends 200 requests/s (open loop: a request every 5 ms whatever the answers, as a
 * broken device or a script would), in the same run. The flooding account has its own device
 * limit, set by the platform operator's command, so most of its flood is refused with 429;
 * what is measured is whether the refused part still costs others their latency.
 *
 * The machine is shared (2 cores, the emulator one Python process): CPU is accounted from /proc
 * per phase — the emulator, its Lambda workers, this process and everything else — so a ratio
 * above 2 can be traced to what was busy.
 */
export const FLOOD_RATE_PER_SECOND = 200;
/**
 * Flood rates run in turn, the acceptance's 200/s last (the emulator may not recover from it
 * within the run): the lower ones show where the shared emulator, rather than the code, stops
 * keeping others' latency.
 */
export const FLOOD_RATES = [20, 40, 60, FLOOD_RATE_PER_SECOND];
export const PHASE_SECONDS = 15;
/** Concurrent requests that warm the emulator's Lambda workers before the phases. */
const WARM_WORKERS = 16;
/** The emulator's queues drain between rates. */
const SETTLE_SECONDS = 5;
/** The flood runs this long before the victim's measured phase: the emulator starts its workers. */
const FLOOD_LEAD_SECONDS = 3;
/** The flooding account's own device limit (the operator's), well below its flood. */
export const FLOOD_ACCOUNT_LIMIT: RateLimit = { ratePerSecond: 20, burst: 40 };
/** Requests of the flood in flight at once before the bench stops sending (counted as not sent). */
const MAX_IN_FLIGHT = 400;
/** A flood request unanswered this long is given up (counted as `0 timeout`): the emulator can stall under a flood. */
const FLOOD_REQUEST_TIMEOUT_MS = 10_000;

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface CpuShare {
  /** Cores busy on average over the phase (1.0 = one core all the time): the emulator's own process. */
  emulator: number;
  /** Its Lambda worker processes, those that exited during the phase included. */
  lambdaWorkers: number;
  /** Worker processes alive at the end of the phase. */
  workerProcesses?: number;
  /**
   * Of the worker processes alive at the start, those gone at the end (the emulator kills one whose
   * invocation outlives the function's timeout). One started and killed within the phase is not
   * counted here; its CPU is, in `lambdaWorkers`.
   */
  workersExited?: number;
  bench: number;
  /** The whole machine, from /proc/stat, steal excluded; minus the three above: other engineers' work. */
  machine: number;
  others: number;
  /**
   * Steal: time this virtual machine's CPUs were ready to run and the host ran someone else.
   * Not in `machine`: it is the host's noise, and what makes one run slower than the next.
   */
  stolen?: number;
}

export interface VictimPhase {
  requests: number;
  ok: number;
  non2xx: Record<string, number>;
  p50: number;
  p95: number;
  p99: number;
  /**
   * The victim's no-op route (`GET /v1/signing-keys`), called in turn with each authorization:
   * what the same flood does to a request that touches no table, so the code's share and the
   * emulator's can be told apart.
   */
  noop: { requests: number; p50: number; p95: number };
  cpu: CpuShare;
}

interface FloodOutcome {
  sent: number;
  notSent: number;
  sentPerSecond: number;
  /** Status (and code) → count: 201 granted, 429 throttled, anything else. */
  statuses: Record<string, number>;
  p50: number;
  p95: number;
}

/** One flood rate: the victim under it, against the same unloaded phase. */
export interface FloodStep {
  rate: number;
  victim: VictimPhase;
  /** Victim authorization p95 under this flood ÷ unloaded. */
  p95Ratio: number;
  /** The same for the victim's no-op route. */
  noopP95Ratio: number;
  flood: FloodOutcome;
}

export interface FloodResult {
  floodRatePerSecond: number;
  phaseSeconds: number;
  floodAccountLimit: RateLimit & { chunk: number };
  victimUnloaded: VictimPhase;
  victimUnderFlood: VictimPhase;
  /** Victim p95 under flood ÷ unloaded: the acceptance criterion is ≤ 2. */
  p95Ratio: number;
  holds: boolean;
  flood: FloodOutcome;
  /** Every rate of FLOOD_RATES, the last being the acceptance's (the fields above repeat it). */
  steps: FloodStep[];
}

/** Finds the emulator's process: the one listening on its port. */
function emulatorPid(): number | undefined {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${EMULATOR_PORT}`], { encoding: 'utf8' });
    const match = /pid=(\d+)/.exec(out);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

interface ProcessTicks {
  ppid: number;
  /** utime + stime, in clock ticks. */
  own: number;
  /** cutime + cstime: its children that exited and were reaped. */
  reaped: number;
}

function processTicks(pid: number): ProcessTicks | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
    return { ppid: Number(fields[1]), own: Number(fields[11]) + Number(fields[12]), reaped: Number(fields[13]) + Number(fields[14]) };
  } catch {
    return undefined;
  }
}

interface CpuSnapshot {
  at: number;
  /** The emulator process's own ticks. */
  emulator: number;
  /** Its live descendants' ticks (their own and their reaped children's). */
  liveWorkers: number;
  /** Ticks of the emulator's children that exited and were reaped (the kernel adds them to its cutime/cstime). */
  reapedWorkers: number;
  workerPids: Set<number>;
  bench: number;
  machineBusy: number;
  machineStolen: number;
}

const CLOCK_TICKS = 100;

function snapshot(): CpuSnapshot {
  const pid = emulatorPid();
  const all = new Map<number, ProcessTicks>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = processTicks(Number(name));
    if (stat) all.set(Number(name), stat);
  }
  const children = new Map<number, number[]>();
  for (const [child, stat] of all) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), child]);
  // The emulator's Lambda workers are its descendants.
  const workerPids = new Set<number>();
  const queue = pid ? [...(children.get(pid) ?? [])] : [];
  while (queue.length) {
    const next = queue.shift() as number;
    workerPids.add(next);
    queue.push(...(children.get(next) ?? []));
  }
  const emulator = pid ? all.get(pid) : undefined;
  const cpuLine = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is the time spent here (not idle, iowait or steal).
  const busy = cpuLine.slice(0, 7).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0);
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    emulator: emulator?.own ?? 0,
    liveWorkers: [...workerPids].reduce((sum, p) => sum + (all.get(p)?.own ?? 0) + (all.get(p)?.reaped ?? 0), 0),
    reapedWorkers: emulator?.reaped ?? 0,
    workerPids,
    bench: (usage.user + usage.system) / 1e6,
    machineBusy: busy,
    machineStolen: cpuLine[7] ?? 0,
  };
}

/**
 * A worker that exits during a phase takes its ticks out of the live sum and into the
 * emulator's reaped figure, so live change + reaped change counts every worker exactly: one
 * that lived through the phase by its growth, one that died by what it had used since the start.
 * (Counting reaped ticks as the emulator's once made a storm of killed and respawned workers
 * look like the emulator's own process at 2 cores.)
 */
function cpuBetween(start: CpuSnapshot, end: CpuSnapshot): CpuShare {
  const seconds = (end.at - start.at) / 1000;
  const cores = (ticks: number) => round(ticks / CLOCK_TICKS / seconds, 2);
  const emulator = cores(end.emulator - start.emulator);
  const lambdaWorkers = cores(Math.max(0, end.liveWorkers - start.liveWorkers + end.reapedWorkers - start.reapedWorkers));
  const bench = round((end.bench - start.bench) / seconds, 2);
  const machine = cores(end.machineBusy - start.machineBusy);
  const workersExited = [...start.workerPids].filter((p) => !end.workerPids.has(p)).length;
  return {
    emulator,
    lambdaWorkers,
    workerProcesses: end.workerPids.size,
    workersExited,
    bench,
    machine,
    others: round(Math.max(0, machine - emulator - lambdaWorkers - bench), 2),
    stolen: cores(end.machineStolen - start.machineStolen),
  };
}

async function victimPhase(authorize: () => Promise<unknown>, noop: () => Promise<unknown>, seconds: number): Promise<VictimPhase> {
  const latencies: number[] = [];
  const noopLatencies: number[] = [];
  const non2xx: Record<string, number> = {};
  let ok = 0;
  const timed = async (call: () => Promise<unknown>, into: number[]) => {
    const t0 = performance.now();
    try {
      await call();
      return true;
    } catch (error) {
      const key = error instanceof FlashlineApiError ? `${error.status} ${error.code}` : `0 ${(error as Error).message}`;
      non2xx[key] = (non2xx[key] ?? 0) + 1;
      return false;
    } finally {
      into.push(performance.now() - t0);
    }
  };
  const before = snapshot();
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    if (await timed(authorize, latencies)) ok += 1;
    await timed(noop, noopLatencies);
  }
  const cpu = cpuBetween(before, snapshot());
  const summary = summarize(latencies);
  const noopSummary = summarize(noopLatencies);
  return { requests: latencies.length, ok, non2xx, p50: summary.p50, p95: summary.p95, p99: summary.p99, noop: { requests: noopLatencies.length, p50: noopSummary.p50, p95: noopSummary.p95 }, cpu };
}

/** Open loop: request i leaves at start + i × interval, answered or not; fetch directly (no client validation), keep-alive. */
function startFlood(url: string, token: string, body: () => string, ratePerSecond: number) {
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let notSent = 0;
  let stopped = false;
  const started = performance.now();
  const intervalMs = 1000 / ratePerSecond;
  const loop = (async () => {
    for (let i = 0; !stopped; i += 1) {
      const wait = started + i * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      if (inFlight.size >= MAX_IN_FLIGHT) {
        notSent += 1;
        continue;
      }
      sent += 1;
      const t0 = performance.now();
      const request = fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body(),
        signal: AbortSignal.timeout(FLOOD_REQUEST_TIMEOUT_MS),
      })
        .then(async (response) => {
          const text = await response.text();
          const code = response.status >= 400 ? ((JSON.parse(text) as { error?: { code?: string } }).error?.code ?? '') : '';
          const key = `${response.status}${code ? ` ${code}` : ''}`;
          statuses[key] = (statuses[key] ?? 0) + 1;
        })
        .catch((error: Error) => {
          const key = error.name === 'TimeoutError' ? '0 timeout' : `0 ${error.message}`;
          statuses[key] = (statuses[key] ?? 0) + 1;
        })
        .finally(() => {
          latencies.push(performance.now() - t0);
          inFlight.delete(request);
        });
      inFlight.add(request);
    }
  })();
  return {
    async stop(): Promise<FloodOutcome> {
      stopped = true;
      await loop;
      await Promise.all(inFlight);
      const seconds = (performance.now() - started) / 1000;
      const summary = summarize(latencies);
      return { sent, notSent, sentPerSecond: round(sent / seconds), statuses, p50: summary.p50, p95: summary.p95 };
    },
  };
}

export async function runFlood(victim: Line, flooder: Line, log: (line: string) => void, rates: readonly number[] = FLOOD_RATES): Promise<FloodResult> {
  const victimJob = await directJob(victim, 'bench flood victim', 10_000_000);
  const floodJob = await directJob(flooder, 'bench flood', 10_000_000);
  const flooderAccountId = (await flooder.admin.call(contract.getAccount)).account.accountId;
  await setAccountRateLimit(flooderAccountId, 'device', FLOOD_ACCOUNT_LIMIT);

  const victimClient = FlashlineClient.fromCredentials(victim.programmers[0]!, { retry: { retries: 0 }, timeoutMs: FLOOD_REQUEST_TIMEOUT_MS });
  const authorize = () => victimClient.call(contract.authorizeProgramming, { body: { jobId: victimJob, units: 1, nonce: `victim-${randomUUID()}` } });
  const noop = () => victimClient.call(contract.getSigningKeys);
  // Warm workers for the concurrency a flood brings, as a line's steady state has them: the
  // emulator starts one Node process per concurrent invocation, and a flood's first seconds on a
  // fresh emulator otherwise measure a storm of cold starts on 2 cores (measured: at 20/s on a
  // fresh stack, 424 of 520 flood requests and the victim timed out; the same flood against
  // warm workers answered every request in time). Ramped: 48 cold starts at once time out too.
  for (let concurrency = 2; concurrency <= WARM_WORKERS; concurrency *= 2) {
    for (const call of [authorize, noop] as (() => Promise<unknown>)[]) await Promise.allSettled(Array.from({ length: concurrency }, call));
  }

  const victimUnloaded = await victimPhase(authorize, noop, PHASE_SECONDS);
  log(`flood: victim unloaded p50 ${victimUnloaded.p50} ms, p95 ${victimUnloaded.p95} ms (${victimUnloaded.requests} authorizations), no-op p95 ${victimUnloaded.noop.p95} ms; cpu ${JSON.stringify(victimUnloaded.cpu)}`);

  // The flooding token's authorizer answer is cached before the flood, as it is after the first
  // second of any real flood: otherwise every request of the first burst invokes the authorizer
  // at once, and the emulator starts one authorizer worker per request (measured: 80 workers,
  // 5 s timeouts, the emulator stalled).
  const credentials = flooder.programmers[0]!;
  const flooderClient = measuring(credentials);
  for (let i = 0; i < 3; i += 1) await flooderClient.call(contract.authorizeProgramming, { body: { jobId: floodJob, units: 1, nonce: `warm-${randomUUID()}` } });
  const url = new URL('v1/device/authorizations', credentials.endpoint.endsWith('/') ? credentials.endpoint : `${credentials.endpoint}/`).toString();

  const steps: FloodStep[] = [];
  for (const rate of rates) {
    const flood = startFlood(url, credentials.token, () => JSON.stringify({ jobId: floodJob, units: 1, nonce: `flood-${randomUUID()}` }), rate);
    await sleep(FLOOD_LEAD_SECONDS * 1000);
    const underFlood = await victimPhase(authorize, noop, PHASE_SECONDS);
    const outcome = await flood.stop();
    const step = { rate, victim: underFlood, p95Ratio: round(underFlood.p95 / victimUnloaded.p95, 2), noopP95Ratio: round(underFlood.noop.p95 / victimUnloaded.noop.p95, 2), flood: outcome };
    steps.push(step);
    log(`flood ${rate}/s: victim p50 ${underFlood.p50} ms, p95 ${underFlood.p95} ms (${underFlood.requests}; ratio ${step.p95Ratio}), no-op p95 ${underFlood.noop.p95} ms (ratio ${step.noopP95Ratio}); flood ${outcome.sentPerSecond}/s sent, ${JSON.stringify(outcome.statuses)}; cpu ${JSON.stringify(underFlood.cpu)}`);
    await sleep(SETTLE_SECONDS * 1000);
  }

  const last = steps[steps.length - 1]!;
  return {
    floodRatePerSecond: last.rate,
    phaseSeconds: PHASE_SECONDS,
    floodAccountLimit: { ...FLOOD_ACCOUNT_LIMIT, chunk: chunkSize(FLOOD_ACCOUNT_LIMIT) },
    victimUnloaded,
    victimUnderFlood: last.victim,
    p95Ratio: last.p95Ratio,
    holds: last.p95Ratio <= 2,
    flood: last.flood,
    steps,
  };
}

export function renderFlood(result: FloodResult): string {
  const { victimUnloaded: u } = result;
  const workers = (c: CpuShare) => (c.workerProcesses === undefined ? '' : ` (${c.workerProcesses} processes at the end, ${c.workersExited} exited)`);
  const cpu = (c: CpuShare) => `emulator ${c.emulator}, Lambda workers ${c.lambdaWorkers}${workers(c)}, bench ${c.bench}, others ${c.others} (machine ${c.machine} of 2${c.stolen === undefined ? '' : `; ${c.stolen} stolen by the host`})`;
  const answers = (flood: FloodOutcome) => Object.entries(flood.statuses).map(([k, v]) => `${v}× ${k}`).join(', ');
  return [
    `Flood: one account sends N authorizations/s (open loop; its device limit ${result.floodAccountLimit.ratePerSecond}/s, burst ${result.floodAccountLimit.burst}); another account's programmer authorizes back to back, alternating with its no-op route, ${result.phaseSeconds} s a phase:`,
    `  victim unloaded:    p50 ${u.p50} ms, p95 ${u.p95} ms, p99 ${u.p99} ms (${u.requests} authorizations, ${u.requests - u.ok} failed); no-op p95 ${u.noop.p95} ms`,
    `  cores busy unloaded: ${cpu(u.cpu)}`,
    ...(result.steps ?? []).flatMap((step) => [
      `  flood ${step.rate}/s: victim p50 ${step.victim.p50} ms, p95 ${step.victim.p95} ms (${step.victim.requests} authorizations, ${step.victim.requests - step.victim.ok} failed), p95 ratio ${step.p95Ratio}; no-op p95 ${step.victim.noop.p95} ms, ratio ${step.noopP95Ratio}`,
      `    flood: ${step.flood.sent} sent (${step.flood.sentPerSecond}/s, ${step.flood.notSent} not sent: ${MAX_IN_FLIGHT} in flight), answers ${answers(step.flood)}; p50 ${step.flood.p50} ms, p95 ${step.flood.p95} ms`,
      `    cores busy: ${cpu(step.victim.cpu)}`,
    ]),
    `  at ${result.floodRatePerSecond}/s: p95 ratio ${result.p95Ratio} (criterion ≤ 2: ${result.holds ? 'holds' : 'DOES NOT HOLD'})`,
  ].join('\n');
}
