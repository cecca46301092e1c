import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import * as path from 'node:path';
import { renderSummary } from '../cli/simulate/command.js';
import { type SimulationSummary, simulate } from '../cli/simulate/simulator.js';
import { type LatencySummary, summarize } from '../cli/simulate/stats.js';
import { EMULATOR_PORT, stopEmulator } from '../localstack/ministack.js';
import { ROOT } from '../scripts/lib/deploy.js';
import { ensureLocalStack } from '../scripts/lib/local-stack.js';
import * as contract from '../shared/contract/index.js';
import { type BundleReport, measureDeviceBundles, renderBundle } from './lib/bundle.js';
import { type CapacityResult, capacityModel, renderCapacity } from './lib/capacity.js';
import { updateCapacityDoc, updateFloodDoc, updateSpreadDoc } from './lib/capacity-doc.js';
import { type CostModelResult, forStorage, renderCostModel, runCostModel } from './lib/cost-model.js';
import { readDeployedApi } from './lib/deployed.js';
import { createAccount, createLine, measuring } from './lib/fixtures.js';
import { type FloodResult, renderFlood, runFlood } from './lib/flood.js';
import { type SpreadResult, measureRateLimitSpread, renderRateLimitSpread } from './lib/rate-limit-spread.js';
import { type RefusalsResult, measureRefusals, renderRefusals } from './lib/refusals.js';
import { SWEEP_CALLERS, type SweepResult, renderSweep, runSweep } from './lib/sweep.js';
import { UNIT_FIELDS_CALLERS, type UnitFieldsResult, renderUnitFields, runUnitFields } from './lib/unit-fields.js';
import { type ApiFlavour, parseApiFlavour } from '../infra/api-flavour.js';
import { costByFlavour } from './lib/flavour-cost.js';
import { PRICES_FILE, type Prices } from './lib/cost-model.js';

/**
 * `npm run bench`: latency and throughput of the deployed stack on the local emulator, printed
 * as a table and written to bench/results/latest.json. Figures are medians of one run on one
 * machine; compare them with the no-op baseline measured in the same run, never across machines.
 * FLASHLINE_EMULATOR_PORT picks the emulator (a fresh one gives a real cold start).
 */
const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'latest.json');
const WARM_SAMPLES = 20;
const AUTHORIZATION_SAMPLES = 200;
const THROUGHPUT_PROGRAMMERS = 8;
const THROUGHPUT_AUTHORIZATIONS_EACH = 25;

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

async function main(): Promise<void> {
  if (flavours) return runFlavours(flavours);
  const stack = await ensureLocalStack({ persist: false, log });
  try {
    await runBenchmarks(stack.deployed || stack.startedEmulator, stack.deployed, stack.startedEmulator, stack.outputs.apiId);
  } finally {
    if (stack.startedEmulator) stopEmulator();
  }
}

/**
 * `npm run bench -- --only=sweep,cost,bundle,flood`: just those sections; they replace their own
 * sections of latest.json (`rerun` names which, when and at which commit), the others stay.
 */
const PARTIAL_SECTIONS = ['sweep', 'cost', 'bundle', 'flood', 'refusals', 'unitFields', 'rateLimitSpread'] as const;
const listArgument = (name: string) =>
  process.argv
    .find((arg) => arg.startsWith(`--${name}=`))
    ?.slice(`--${name}=`.length)
    .split(',')
    .filter(Boolean);
const only = listArgument('only');
/** `--flavours=http,rest`: the `--only` steps (default sweep, refusals) on each API Gateway flavour in turn, in one run. */
const flavours = listArgument('flavours')?.map(parseApiFlavour);
/** `--callers=1,4`: a shorter sweep (default SWEEP_CALLERS). */
const sweepCallers = listArgument('callers')?.map(Number) ?? SWEEP_CALLERS;

async function runPartial(sections: string[], adminCredentials: contract.CredentialsFileType, apiId: string): Promise<void> {
  const { replaced, out } = await measureSections(sections, adminCredentials, apiId);
  const previous = existsSync(RESULTS_FILE) ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>) : {};
  const rerun = { at: new Date().toISOString(), commit: gitCommit(), sections: Object.keys(replaced) };
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...previous, ...replaced, rerun }, null, 2)}\n`);
  if (replaced.capacity) updateCapacityDoc(replaced.capacity as CapacityResult, rerun.commit);
  if (replaced.flood) updateFloodDoc(replaced.flood as FloodResult, rerun.commit);
  if (replaced.rateLimitSpread) updateSpreadDoc(replaced.rateLimitSpread as SpreadResult);
  process.stdout.write(`${out.join('\n\n')}\n\n${Object.keys(replaced).join(', ')} replaced in ${path.relative(process.cwd(), RESULTS_FILE)}\n`);
}

/**
 * Each flavour deployed in turn on the same emulator (the stateless stack is replaced, the data
 * stays), the same steps on each, the results side by side in latest.json's `apiFlavours`.
 */
async function runFlavours(chosen: ApiFlavour[]): Promise<void> {
  const sections = only ?? ['sweep', 'refusals'];
  const byFlavour: Record<string, Record<string, unknown>> = {};
  const out: string[] = [];
  let startedEmulator = false;
  try {
    for (const flavour of chosen) {
      process.env.FLASHLINE_API_FLAVOUR = flavour;
      log(`flavour ${flavour}: deploying …`);
      const stack = await ensureLocalStack({ persist: false, log });
      startedEmulator ||= stack.startedEmulator;
      const measured = await measureSections(sections, await createAccount(`Bench ${flavour} ${new Date().toISOString()}`), stack.outputs.apiId, flavour);
      byFlavour[flavour] = { apiUrl: stack.outputs.apiUrl, ...measured.replaced };
      out.push(`== ${flavour} ==`, ...measured.out);
      // Shown as it comes: a later flavour that fails must not take this one's figures with it.
      process.stdout.write(`${measured.out.join('\n\n')}\n\n`);
      log(`flavour ${flavour}: ${JSON.stringify(measured.replaced)}`);
    }
  } finally {
    if (startedEmulator) stopEmulator();
  }
  const previous = existsSync(RESULTS_FILE) ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>) : {};
  const prices = JSON.parse(readFileSync(PRICES_FILE, 'utf8')) as Prices;
  const cost = previous.costModel ? costByFlavour(previous.costModel as CostModelResult, prices) : undefined;
  const apiFlavours = { at: new Date().toISOString(), commit: gitCommit(), sections, sweepCallers, ...byFlavour, costPerMillionUnits: cost };
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...previous, apiFlavours }, null, 2)}\n`);
  if (cost) out.push(`Cost per million units (API Gateway requests counted by the cost step × list price):\n${cost.map((c) => `  ${c.flavour} batch ${c.batch}: ${c.apiGatewayRequestsPerThousandUnits} requests/1,000 units, API Gateway $${c.apiGatewayPerMillionUnits}, total $${c.totalPerMillionUnits}`).join('\n')}`);
  process.stdout.write(`${out.join('\n\n')}\n\napiFlavours written to ${path.relative(process.cwd(), RESULTS_FILE)}\n`);
}

async function measureSections(
  sections: string[],
  adminCredentials: contract.CredentialsFileType,
  apiId: string,
  flavour?: ApiFlavour,
): Promise<{ replaced: Record<string, unknown>; out: string[] }> {
  const unknown = sections.filter((s) => !(PARTIAL_SECTIONS as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`--only takes ${PARTIAL_SECTIONS.join(', ')}; not ${unknown.join(', ')}`);
  const deployedApi = await readDeployedApi(apiId);
  const needsLine = sections.includes('sweep') || sections.includes('cost') || sections.includes('unitFields');
  const lineSize = Math.max(1, sections.includes('sweep') ? Math.max(...sweepCallers) : 1, sections.includes('unitFields') ? UNIT_FIELDS_CALLERS : 1);
  const line = needsLine ? await createLine(adminCredentials, lineSize, 'Sweep') : undefined;
  const out: string[] = [];
  const replaced: Record<string, unknown> = {};
  if (sections.includes('sweep')) {
    replaced.sweep = await runSweep(line!, log, sweepCallers);
    out.push(renderSweep(replaced.sweep as SweepResult));
  }
  if (sections.includes('unitFields')) {
    replaced.unitFields = await runUnitFields(line!, adminCredentials, UNIT_FIELDS_CALLERS, log);
    out.push(renderUnitFields(replaced.unitFields as UnitFieldsResult));
  }
  if (sections.includes('refusals')) {
    replaced.refusals = await measureRefusals(adminCredentials);
    out.push(renderRefusals(flavour ?? 'deployed', replaced.refusals as RefusalsResult));
  }
  if (sections.includes('cost')) {
    const cost = await runCostModel(line!, deployedApi, log);
    replaced.costModel = forStorage(cost);
    replaced.capacity = capacityModel(cost, deployedApi);
    out.push(renderCostModel(cost), renderCapacity(replaced.capacity as CapacityResult));
  }
  if (sections.includes('flood')) {
    replaced.flood = await measureFlood(log);
    out.push(renderFlood(replaced.flood as FloodResult));
  }
  if (sections.includes('rateLimitSpread')) {
    replaced.rateLimitSpread = await measureRateLimitSpread(deployedApi, log);
    out.push(renderRateLimitSpread(replaced.rateLimitSpread as SpreadResult));
  }
  if (sections.includes('bundle')) {
    replaced.bundle = await measureDeviceBundles(deployedApi);
    out.push(...(replaced.bundle as BundleReport[]).map(renderBundle));
  }
  return { replaced, out };
}

async function runBenchmarks(freshLambdas: boolean, deployed: boolean, startedEmulator: boolean, apiId: string): Promise<void> {
  const adminCredentials = await createAccount(`Bench ${new Date().toISOString()}`);
  if (only) return runPartial(only, adminCredentials, apiId);
  const admin = measuring(adminCredentials);

  // Cold: the very first request after a (re)deploy or a fresh emulator, so the authorizer and
  // the management function both start a new worker. Otherwise we cannot force one: say so.
  let cold: { ms: number } | { skipped: string };
  if (freshLambdas) {
    cold = { ms: round((await timed(() => admin.call(contract.getAccount))).ms) };
    log(`cold GET /v1/account: ${(cold as { ms: number }).ms} ms`);
  } else {
    cold = { skipped: 'the stack was already deployed and warm; run against a fresh emulator (e.g. FLASHLINE_EMULATOR_PORT=4599 npm run bench) to measure a cold start' };
    await admin.call(contract.getAccount);
    log('cold start skipped: the stack was already up');
  }

  // Warm, interleaved with the no-op baseline so both see the same machine at the same moment.
  await admin.call(contract.getSigningKeys);
  const account: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < WARM_SAMPLES; i += 1) {
    account.push((await timed(() => admin.call(contract.getAccount))).ms);
    baseline.push((await timed(() => admin.call(contract.getSigningKeys))).ms);
  }
  const warmAccount = summarize(account);
  const warmBaseline = summarize(baseline);
  log(`warm GET /v1/account p50 ${warmAccount.p50} ms; GET /v1/signing-keys p50 ${warmBaseline.p50} ms`);

  // Authorization latency, units=1 and units=100, one programmer asking sequentially.
  const author = measuring((await admin.call(contract.createApiKey, { body: { name: 'bench', role: 'author' } })).credentials);
  const { factory } = await admin.call(contract.createFactory, { body: { name: `Bench ${randomUUID().slice(0, 8)}` } });
  const programmers: contract.CredentialsFileType[] = [];
  for (let i = 1; i <= THROUGHPUT_PROGRAMMERS; i += 1) {
    const created = await admin.call(contract.provisionProgrammer, { body: { name: `Bench ${i}`, hardwareSerial: randomUUID(), factoryId: factory.factoryId, encryptionKeyIds: ['bench-key'] } });
    programmers.push(created.credentials);
  }
  const directJob = async (name: string, maxCount?: number) => {
    const registered = await author.call(contract.registerImage, {
      body: { name, factoryId: factory.factoryId, contentSha256: createHash('sha256').update(name).digest('hex'), sizeBytes: 1024, delivery: 'direct', restrictions: maxCount ? { maxCount } : undefined },
    });
    return registered.job.jobId;
  };
  const unlimitedJob = await directJob('bench unlimited');
  const device = measuring(programmers[0]!);
  const authorizeLatency = async (units: number): Promise<LatencySummary> => {
    await device.call(contract.authorizeProgramming, { body: { jobId: unlimitedJob, units, nonce: `warm-${randomUUID()}` } });
    const samples: number[] = [];
    for (let i = 0; i < AUTHORIZATION_SAMPLES; i += 1) {
      samples.push((await timed(() => device.call(contract.authorizeProgramming, { body: { jobId: unlimitedJob, units, nonce: `bench-${randomUUID()}` } }))).ms);
    }
    return summarize(samples);
  };
  const units1 = await authorizeLatency(1);
  log(`authorize units=1: p50 ${units1.p50} ms, p95 ${units1.p95} ms`);
  const units100 = await authorizeLatency(100);
  log(`authorize units=100: p50 ${units100.p50} ms, p95 ${units100.p95} ms`);

  // Throughput with 8 programmers at once: the bare authorization path, then the simulator's
  // whole device loop (authorize, verify the ticket, report results, send logs).
  const throughputJob = await directJob('bench throughput');
  // A failed request is counted and reported, not fatal: the rest of the run still measures.
  const bareFailures: string[] = [];
  const bare = await timed(() =>
    Promise.all(
      programmers.map(async (credentials) => {
        const client = measuring(credentials);
        for (let i = 0; i < THROUGHPUT_AUTHORIZATIONS_EACH; i += 1) {
          try {
            await client.call(contract.authorizeProgramming, { body: { jobId: throughputJob, units: 1, nonce: `tp-${randomUUID()}` } });
          } catch (error) {
            bareFailures.push((error as Error).message.slice(0, 200));
          }
        }
      }),
    ),
  );
  const bareCount = THROUGHPUT_PROGRAMMERS * THROUGHPUT_AUTHORIZATIONS_EACH - bareFailures.length;
  const bareRate = round(bareCount / (bare.ms / 1000));
  log(`${bareCount} authorizations by ${THROUGHPUT_PROGRAMMERS} programmers at once: ${bareRate}/s${bareFailures.length ? `; ${bareFailures.length} failed` : ''}`);
  const simulatedLine = await simulate({ programmers, jobId: throughputJob, units: bareCount, batch: 1, concurrency: 1, programMs: 0, seed: 'bench-throughput', retry: { retries: 0 } });
  if (!simulatedLine.ok) log(`the 8-programmer simulator run failed: ${simulatedLine.stopReason} ${simulatedLine.errors.join('; ')}`);
  log(`simulated line of ${THROUGHPUT_PROGRAMMERS}: ${simulatedLine.authorizationsPerSecond} authorizations/s`);

  // The closing figure: 1,000 units of a cloud-delivered image by a line of 4 programmers × 2 lanes.
  const imageBytes = randomBytes(256 * 1024);
  const registered = await author.call(contract.registerImage, {
    body: {
      name: 'bench 1000 units',
      factoryId: factory.factoryId,
      contentSha256: createHash('sha256').update(imageBytes).digest('hex'),
      sizeBytes: imageBytes.length,
      delivery: 'cloud',
      encryptionKeyId: 'bench-key',
      restrictions: { maxCount: 1000 },
      serials: { start: 1, format: 'BENCH-{n:06}' },
    },
  });
  const put = await fetch(registered.upload!.url, { method: 'PUT', headers: registered.upload!.headers, body: imageBytes });
  if (!put.ok) throw new Error(`image upload answered ${put.status}`);
  for (let i = 0; ; i += 1) {
    const { image } = await author.call(contract.getImage, { params: { imageId: registered.image.imageId } });
    if (image.status === 'available') break;
    if (image.status === 'rejected' || i > 300) throw new Error(`the bench image is ${image.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const thousand: SimulationSummary = await simulate({
    programmers: programmers.slice(0, 4),
    jobId: registered.job.jobId,
    batch: 10,
    concurrency: 2,
    failureRate: 0.02,
    seed: 'bench-1000',
    programMs: 5,
    binding: registered.binding,
  });
  const { job: thousandJob } = await admin.call(contract.getJob, { params: { jobId: registered.job.jobId } });
  if (!thousand.ok || thousand.units !== 1000) throw new Error(`the 1,000-unit run ended ${thousand.stopReason} with ${thousand.units} units: ${thousand.errors.join('; ')}`);

  // Contention: 1…32 programmers on one job against the no-op route at the same concurrency.
  const sweepLine = await createLine(adminCredentials, Math.max(...SWEEP_CALLERS), 'Sweep');
  const sweep = await runSweep(sweepLine, log);
  // Per-unit data: authorizations with unit fields against a plain job, alternating.
  const unitFields = await runUnitFields(sweepLine, adminCredentials, UNIT_FIELDS_CALLERS, log);

  // Cost: the real device handler in-process, every AWS call it makes counted, × list prices.
  const deployedApi = await readDeployedApi(apiId);
  const costModel = await runCostModel(sweepLine, deployedApi, log);
  const capacity = capacityModel(costModel, deployedApi);

  const bundle = await measureDeviceBundles(deployedApi);
  for (const report of bundle) log(renderBundle(report));

  // Rate-limit leases when each programmer's requests are spread over many containers.
  const rateLimitSpread = await measureRateLimitSpread(deployedApi, log);

  // Fairness: another account's authorizations while one account floods at 200 requests/s.
  const flood = await measureFlood(log);

  const results = {
    at: new Date().toISOString(),
    commit: gitCommit(),
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
    emulator: { port: EMULATOR_PORT, startedByBench: startedEmulator, deployedByBench: deployed },
    coldAccount: cold,
    warmAccount,
    warmBaseline,
    warmAccountOverBaseline: round(warmAccount.p50 / warmBaseline.p50, 2),
    authorizeUnits1: units1,
    authorizeUnits100: units100,
    authorizeUnits100OverUnits1: round(units100.p50 / units1.p50, 2),
    throughput: {
      programmers: THROUGHPUT_PROGRAMMERS,
      bareAuthorizations: bareCount,
      bareAuthorizationsPerSecond: bareRate,
      bareFailures,
      simulatedLine: {
        ok: simulatedLine.ok,
        stopReason: simulatedLine.stopReason,
        errors: simulatedLine.errors,
        authorizationsPerSecond: simulatedLine.authorizationsPerSecond,
        requestsPerSecond: simulatedLine.requestsPerSecond,
        unitsPerSecond: simulatedLine.unitsPerSecond,
        latency: simulatedLine.latency,
      },
    },
    thousandUnits: { summary: thousand, jobCounters: thousandJob.counters, jobStatus: thousandJob.status },
    sweep,
    unitFields,
    costModel: forStorage(costModel),
    capacity,
    bundle,
    flood,
    rateLimitSpread,
  };
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  updateCapacityDoc(capacity, results.commit);
  updateFloodDoc(flood, results.commit);
  updateSpreadDoc(rateLimitSpread);
  process.stdout.write(renderReport(results));
  process.stdout.write(`\nWritten to ${path.relative(process.cwd(), RESULTS_FILE)}\n`);
}

/** Two accounts of their own: the victim's programmer and the flooding account's. */
async function measureFlood(log: (line: string) => void): Promise<FloodResult> {
  const victim = await createLine(await createAccount(`Bench victim ${new Date().toISOString()}`), 1, 'Victim');
  const flooder = await createLine(await createAccount(`Bench flooder ${new Date().toISOString()}`), 1, 'Flooder');
  return runFlood(victim, flooder, log);
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

type Results = {
  at: string;
  machine: { cpus: number; node: string };
  emulator: { port: number };
  coldAccount: { ms: number } | { skipped: string };
  warmAccount: LatencySummary;
  warmBaseline: LatencySummary;
  warmAccountOverBaseline: number;
  authorizeUnits1: LatencySummary;
  authorizeUnits100: LatencySummary;
  authorizeUnits100OverUnits1: number;
  throughput: { programmers: number; bareAuthorizations: number; bareAuthorizationsPerSecond: number; simulatedLine: { authorizationsPerSecond: number } };
  thousandUnits: { summary: SimulationSummary; jobCounters: { authorized: number; succeeded: number; failed: number } };
  sweep: SweepResult;
  unitFields: UnitFieldsResult;
  costModel: CostModelResult;
  capacity: CapacityResult;
  /** Both device functions': the authorizations function (the hot path) and the other device routes. */
  bundle: BundleReport[];
  flood: FloodResult;
  rateLimitSpread: SpreadResult;
};

function renderReport(r: Results): string {
  const rows: [string, string, string, string][] = [
    ['GET /v1/account, cold (first call after deploy)', 'ms' in r.coldAccount ? `${r.coldAccount.ms} ms` : 'skipped', '', '1'],
    ['GET /v1/account, warm', `${r.warmAccount.p50} ms`, `${r.warmAccount.p95} ms`, String(r.warmAccount.count)],
    ['GET /v1/signing-keys, warm (no-op baseline)', `${r.warmBaseline.p50} ms`, `${r.warmBaseline.p95} ms`, String(r.warmBaseline.count)],
    ['  account / baseline (medians)', `${r.warmAccountOverBaseline}×`, '', ''],
    ['POST /v1/device/authorizations, units=1', `${r.authorizeUnits1.p50} ms`, `${r.authorizeUnits1.p95} ms`, String(r.authorizeUnits1.count)],
    ['POST /v1/device/authorizations, units=100', `${r.authorizeUnits100.p50} ms`, `${r.authorizeUnits100.p95} ms`, String(r.authorizeUnits100.count)],
    ['  units=100 / units=1 (medians)', `${r.authorizeUnits100OverUnits1}×`, '', ''],
    [`authorizations/s, ${r.throughput.programmers} programmers at once (authorize only)`, `${r.throughput.bareAuthorizationsPerSecond}/s`, '', String(r.throughput.bareAuthorizations)],
    [`authorizations/s, ${r.throughput.programmers} simulated programmers (full device loop)`, `${r.throughput.simulatedLine.authorizationsPerSecond}/s`, '', String(r.throughput.bareAuthorizations)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const table = [
    `${'measure'.padEnd(width)}  ${'median'.padStart(10)}  ${'p95'.padStart(9)}  ${'n'.padStart(4)}`,
    ...rows.map(([label, median, p95, n]) => `${label.padEnd(width)}  ${median.padStart(10)}  ${p95.padStart(9)}  ${n.padStart(4)}`),
  ].join('\n');
  const coldNote = 'skipped' in r.coldAccount ? `\nCold start: ${r.coldAccount.skipped}\n` : '';
  const { summary, jobCounters } = r.thousandUnits;
  return [
    `Flashline benchmarks: local emulator on port ${r.emulator.port}, ${r.machine.cpus} CPUs, Node ${r.machine.node}, ${r.at}`,
    '',
    table,
    coldNote,
    `1,000-unit simulator run (job counters: ${jobCounters.authorized} authorized, ${jobCounters.succeeded} succeeded, ${jobCounters.failed} failed):`,
    renderSummary(summary),
    '',
    renderSweep(r.sweep),
    '',
    renderUnitFields(r.unitFields),
    '',
    renderCostModel(r.costModel),
    '',
    renderCapacity(r.capacity),
    '',
    ...(Array.isArray(r.bundle) ? r.bundle : [r.bundle]).map(renderBundle),
    '',
    renderFlood(r.flood),
    renderRateLimitSpread(r.rateLimitSpread),
  ].join('\n');
}

main().catch((error: Error) => {
  process.stderr.write(`npm run bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
