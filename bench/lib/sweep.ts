import { randomUUID } from 'node:crypto';
import { summarize } from '../../cli/simulate/stats.js';
import { FlashlineApiError, type FlashlineClient } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';
import { type Line, directJob, measuring } from './fixtures.js';

/**
 * The contention sweep: 1, 4, 16 and 32 programmers at once on ONE job, each asking for one
 * unit at a time with a fresh nonce, for a fixed duration per step, through the public HTTP API;
 * then the no-op route (`GET /v1/signing-keys`) at the same concurrency for the same duration,
 * so every ratio compares two figures taken on the same machine in the same minute.
 */
export const SWEEP_CALLERS = [1, 4, 16, 32];
export const STEP_SECONDS = 6;
/**
 * Before each timed phase every caller completes this many requests at once (not counted): the
 * emulator starts one Lambda worker per concurrent request, and a cold start of the device
 * bundle costs seconds of CPU on 2 cores. A fixed second of warm-up left most of the 16- and
 * 32-caller workers starting inside the timed step, so those steps measured cold starts.
 */
const WARMUP_REQUESTS_PER_CALLER = 3;
/**
 * Each step runs its two phases this many times, alternating (authorize, no-op, authorize, …),
 * and reports medians: on this shared machine one 6 s phase moved the 16-caller figure by ±30 %
 * from run to run, more than the changes it was there to judge.
 */
export const STEP_ROUNDS = 3;

export async function warmUp(clients: FlashlineClient[], request: (client: FlashlineClient) => Promise<unknown>): Promise<void> {
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < WARMUP_REQUESTS_PER_CALLER; i += 1) await request(client).catch(() => undefined);
    }),
  );
}

export interface PhaseResult {
  requests: number;
  ok: number;
  /** Status → count of every non-2xx answer (0: no answer at all). */
  non2xx: Record<string, number>;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface SweepRound {
  authorizePerSecond: number;
  noopPerSecond: number;
  throughputRatio: number;
}

export interface SweepStep {
  callers: number;
  seconds: number;
  /** Over the step's rounds: counts summed, rates and percentiles their medians. */
  authorize: PhaseResult;
  noop: PhaseResult;
  /** authorizations/s ÷ no-op requests/s at the same concurrency: the median of the rounds' ratios. */
  throughputRatio: number;
  /** Each round's figures, in the order they ran. */
  rounds?: SweepRound[];
  /** authorization p50 (p95) ÷ no-op p50 (p95): how much slower than doing nothing. */
  p50Ratio: number;
  p95Ratio: number;
}

export interface SweepResult {
  jobId: string;
  stepSeconds: number;
  steps: SweepStep[];
  nonSuccess: number;
  /** Does throughput hold as callers grow (each step ≥ the one before, 5% noise allowed)? */
  throughputHolds: boolean;
  jobCounters: unknown;
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const ratio = (a: number, b: number) => round(a / b, 2);

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Several runs of one phase as one: counts summed, rates and percentiles their medians. */
export function medianPhase(results: PhaseResult[]): PhaseResult {
  const non2xx: Record<string, number> = {};
  for (const result of results) for (const [key, count] of Object.entries(result.non2xx)) non2xx[key] = (non2xx[key] ?? 0) + count;
  const of = (field: 'perSecond' | 'p50' | 'p95' | 'p99') => round(median(results.map((result) => result[field])));
  return {
    requests: results.reduce((sum, result) => sum + result.requests, 0),
    ok: results.reduce((sum, result) => sum + result.ok, 0),
    non2xx,
    perSecond: of('perSecond'),
    p50: of('p50'),
    p95: of('p95'),
    p99: of('p99'),
  };
}

export async function phase(clients: FlashlineClient[], seconds: number, request: (client: FlashlineClient) => Promise<unknown>): Promise<PhaseResult> {
  const latencies: number[] = [];
  const non2xx: Record<string, number> = {};
  let ok = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await request(client);
          ok += 1;
        } catch (error) {
          const status = error instanceof FlashlineApiError ? error.status : 0;
          const key = error instanceof FlashlineApiError ? `${status} ${error.code}` : `0 ${(error as Error).message}`;
          non2xx[key] = (non2xx[key] ?? 0) + 1;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const summary = summarize(latencies);
  return { requests: latencies.length, ok, non2xx, perSecond: round(ok / elapsed), p50: summary.p50, p95: summary.p95, p99: summary.p99 };
}

export async function runSweep(line: Line, log: (line: string) => void, callerSteps: number[] = SWEEP_CALLERS): Promise<SweepResult> {
  const most = Math.max(...callerSteps);
  if (line.programmers.length < most) throw new Error(`the sweep needs ${most} programmers`);
  // A limit far above what the sweep can use: the job never completes under it.
  const jobId = await directJob(line, 'bench sweep', 10_000_000);
  const authorize = (client: FlashlineClient) => client.call(contract.authorizeProgramming, { body: { jobId, units: 1, nonce: `sweep-${randomUUID()}` } });
  const noop = (client: FlashlineClient) => client.call(contract.getSigningKeys);
  const steps: SweepStep[] = [];
  for (const callers of callerSteps) {
    const clients = line.programmers.slice(0, callers).map(measuring);
    await warmUp(clients, authorize);
    await warmUp(clients, noop);
    const authorizeRuns: PhaseResult[] = [];
    const noopRuns: PhaseResult[] = [];
    for (let run = 0; run < STEP_ROUNDS; run += 1) {
      authorizeRuns.push(await phase(clients, STEP_SECONDS, authorize));
      noopRuns.push(await phase(clients, STEP_SECONDS, noop));
    }
    const rounds = authorizeRuns.map((run, i) => ({ authorizePerSecond: run.perSecond, noopPerSecond: noopRuns[i]!.perSecond, throughputRatio: ratio(run.perSecond, noopRuns[i]!.perSecond) }));
    const authorizeResult = medianPhase(authorizeRuns);
    const noopResult = medianPhase(noopRuns);
    const step: SweepStep = {
      callers,
      seconds: STEP_SECONDS,
      authorize: authorizeResult,
      noop: noopResult,
      throughputRatio: round(median(rounds.map((r) => r.throughputRatio)), 2),
      rounds,
      p50Ratio: round(authorizeResult.p50 / noopResult.p50, 2),
      p95Ratio: round(authorizeResult.p95 / noopResult.p95, 2),
    };
    steps.push(step);
    const failures = Object.entries(authorizeResult.non2xx).map(([k, v]) => `${v}× ${k}`).join(', ');
    const perRound = rounds.map((r) => `${r.authorizePerSecond}/${r.noopPerSecond}`).join(', ');
    log(`sweep ${callers} callers: ${authorizeResult.perSecond} authorizations/s (p50 ${authorizeResult.p50} ms, p95 ${authorizeResult.p95} ms) vs no-op ${noopResult.perSecond}/s → ${step.throughputRatio} (medians of ${STEP_ROUNDS} rounds, authorize/no-op per s: ${perRound})${failures ? `; non-2xx: ${failures}` : ''}`);
  }
  const { job } = await line.admin.call(contract.getJob, { params: { jobId } });
  const nonSuccess = steps.reduce((sum, s) => sum + Object.values(s.authorize.non2xx).reduce((a, b) => a + b, 0) + Object.values(s.noop.non2xx).reduce((a, b) => a + b, 0), 0);
  const throughputHolds = steps.every((s, i) => i === 0 || s.authorize.perSecond >= steps[i - 1]!.authorize.perSecond * 0.95);
  return { jobId, stepSeconds: STEP_SECONDS, steps, nonSuccess, throughputHolds, jobCounters: job.counters };
}

export function renderSweep(sweep: SweepResult): string {
  const header = ['callers', 'auth/s', 'p50 ms', 'p95 ms', 'no-op/s', 'no-op p50', 'no-op p95', 'ratio /s', 'ratio p50', 'ratio p95', 'non-2xx'];
  const rows = sweep.steps.map((s) => [
    String(s.callers),
    String(s.authorize.perSecond),
    String(s.authorize.p50),
    String(s.authorize.p95),
    String(s.noop.perSecond),
    String(s.noop.p50),
    String(s.noop.p95),
    String(s.throughputRatio),
    String(s.p50Ratio),
    String(s.p95Ratio),
    String(Object.values(s.authorize.non2xx).reduce((a, b) => a + b, 0) + Object.values(s.noop.non2xx).reduce((a, b) => a + b, 0)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const table = [header, ...rows].map((r) => r.map((cell, i) => cell.padStart(widths[i]!)).join('  ')).join('\n');
  const failures = sweep.steps.flatMap((s) => [
    ...Object.entries(s.authorize.non2xx).map(([k, v]) => `${s.callers} callers, authorize: ${v}× ${k}`),
    ...Object.entries(s.noop.non2xx).map(([k, v]) => `${s.callers} callers, no-op: ${v}× ${k}`),
  ]);
  return [
    `Contention sweep: POST /v1/device/authorizations (units 1) on one job vs GET /v1/signing-keys, ${sweep.stepSeconds} s per step and route${sweep.steps[0]?.rounds ? `, ${sweep.steps[0].rounds.length} rounds alternating (medians; ratio /s the median of the rounds' ratios)` : ''}:`,
    table,
    `Throughput ${sweep.throughputHolds ? 'holds' : 'FALLS'} as callers grow; non-2xx answers: ${sweep.nonSuccess}${failures.length ? ` (${failures.join('; ')})` : ''}`,
  ].join('\n');
}
