import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { integerOption, numberOption } from '../options.js';
import { renderFields, renderTable } from '../output.js';
import type { CommandKit } from '../program.js';
import { type SimulationSummary, SimulatorSetupError, simulate } from './simulator.js';

interface SimulateOptions {
  job?: string;
  units?: number;
  batch: number;
  concurrency: number;
  failureRate: number;
  seed: string;
  programMs: number;
  binding?: string;
  logs: boolean;
}

export function renderSummary(summary: SimulationSummary): string {
  const refusals = Object.entries(summary.refusals).map(([code, count]) => `${code} ×${count}`);
  const head = renderFields([
    ['Job', summary.jobId ? (summary.jobName ? `${summary.jobName} (${summary.jobId}, ${summary.delivery} delivery)` : summary.jobId) : '-'],
    ['Line', `${summary.programmers} programmer(s) × ${summary.lanes / Math.max(1, summary.programmers)} lane(s), batch ${summary.batch}, seed ${summary.seed}, failure rate ${summary.failureRate}`],
    ['Stopped', `${summary.stopReason}${summary.ok ? '' : ' (not ok)'}`],
    ['Units', `${summary.units} reported: ${summary.successes} ok, ${summary.failures} failed (${summary.authorizedUnits} authorized in ${summary.authorizations} authorizations, ${summary.returnedUnits} returned by releases)`],
    ['Verified', `${summary.ticketsVerified} ticket(s), ${summary.certificatesVerified} device certificate(s), ${summary.imagesVerified} image download(s), ${summary.imagesFollowed} image replace(s) followed, binding ${summary.bindingVerified === null ? 'not given' : summary.bindingVerified ? 'ok' : 'NOT verified'}`],
    ['Refusals', refusals.join(', ') || 'none'],
    ['Requests', `${summary.requests} in ${(summary.durationMs / 1000).toFixed(1)} s: ${summary.requestsPerSecond}/s; ${summary.authorizationsPerSecond} authorizations/s; ${summary.unitsPerSecond} units/s`],
  ]);
  const latency = renderTable(Object.entries(summary.latency), [
    { header: 'REQUEST', value: ([kind]) => kind },
    { header: 'COUNT', value: ([, l]) => l.count, align: 'right' },
    { header: 'P50 ms', value: ([, l]) => l.p50, align: 'right' },
    { header: 'P95 ms', value: ([, l]) => l.p95, align: 'right' },
    { header: 'P99 ms', value: ([, l]) => l.p99, align: 'right' },
    { header: 'MAX ms', value: ([, l]) => l.max, align: 'right' },
  ]);
  const errors = summary.errors.map((error) => `error: ${error}\n`).join('');
  return `${head}\n${latency}${errors}`;
}

/** `--binding` takes the compact JWS itself or `@file` holding it. */
function readBinding(value: string | undefined, cwd: string): string | undefined {
  if (value === undefined) return undefined;
  if (!value.startsWith('@')) return value.trim();
  const file = path.resolve(cwd, value.slice(1));
  if (!existsSync(file)) throw new UsageError(`--binding: no file ${file}`);
  return readFileSync(file, 'utf8').trim();
}

export function registerSimulateCommand(program: Command, kit: CommandKit): void {
  program
    .command('simulate')
    .description(
      'act as a line of programmers (programmer credentials): authorize, verify tickets, program, report',
    )
    .option('--job <jobId>', "the job (default: the first active job of the programmer's factory)")
    .option('--units <n>', 'units to program (default: until the job refuses, e.g. its count limit)', integerOption(1))
    .option('--batch <n>', 'units per authorization', integerOption(1, 1000), 10)
    .option('--concurrency <n>', 'parallel lanes (sockets) of this programmer', integerOption(1, 256), 1)
    .option('--failure-rate <f>', 'share of units that fail, 0–1', numberOption(0, 1), 0)
    .option('--seed <seed>', 'seed of the pseudo-random failures (same seed and serials, same outcomes)', '1')
    .option('--program-ms <ms>', 'simulated programming time per unit', integerOption(0, 600_000), 10)
    .option('--binding <jws|@file>', "the image's binding: verified, then sent with every authorization")
    .option('--no-logs', 'do not send log lines')
    .action(
      kit.action(async (context, options: SimulateOptions) => {
        const credentials = context.credentials();
        let summary: SimulationSummary;
        try {
          summary = await simulate({
            programmers: [credentials],
            jobId: options.job,
            units: options.units,
            batch: options.batch,
            concurrency: options.concurrency,
            failureRate: options.failureRate,
            seed: options.seed,
            programMs: options.programMs,
            binding: readBinding(options.binding, context.io.cwd),
            sendLogs: options.logs,
            signal: context.io.signal,
            fetch: context.io.fetch,
            onNote: (line) => context.note(line),
          });
        } catch (error) {
          if (error instanceof SimulatorSetupError) throw new UsageError(error.message);
          throw error;
        }
        if (!summary.ok) context.fail();
        context.print(summary, () => renderSummary(summary));
      }),
    );
}
