import { randomInt, randomUUID } from 'node:crypto';
import { stopEmulator } from '../localstack/ministack.js';
import { ensureLocalStack } from '../scripts/lib/local-stack.js';
import { FlashlineApiError, type FlashlineClient } from '../shared/contract/client.js';
import * as contract from '../shared/contract/index.js';
import { type Line, createAccount, createLine, directJob, measuring } from './lib/fixtures.js';

/**
 * `npm run soak:race [-- --rounds=N]`: the race soak of the authorization path, not part of the
 * default test run. Each round, 32 programmers at once ask for 1–3 units (fresh nonce each)
 * on a job limited to 500 until it is used up; when fewer units remain than asked, a caller
 * asks for what remains. A round passes when exactly 500 units were authorized, the 500 serials
 * are distinct, every authorization holds as many serials as units, and the job's own counters
 * say the same (authorized 500, remaining 0, completed). A 429 is waited out and a request left
 * unanswered is asked again with the same nonce, as a programmer would; any other error fails
 * the round. Prints N/20 and exits 1 below 20/20.
 */
const CALLERS = 32;
const LIMIT = 500;
const ROUNDS = Number(/^--rounds=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--rounds=')) ?? '')?.[1] ?? 20);

const log = (line: string) => process.stdout.write(`${line}\n`);

interface RoundOutcome {
  ok: boolean;
  problems: string[];
  authorizations: number;
  units: number;
  distinctSerials: number;
  throttled: number;
  unanswered: number;
  seconds: number;
}

async function caller(
  client: FlashlineClient,
  jobId: string,
  granted: { units: number; serials: string[] }[],
  problems: string[],
  counts: { throttled: number; unanswered: number },
): Promise<void> {
  let units = randomInt(1, 4);
  let nonce = `soak-${randomUUID()}`;
  for (;;) {
    try {
      const authorization = await client.call(contract.authorizeProgramming, { body: { jobId, units, nonce } });
      granted.push({ units: authorization.units, serials: authorization.serials });
      units = randomInt(1, 4);
      nonce = `soak-${randomUUID()}`;
    } catch (error) {
      if (error instanceof FlashlineApiError && error.status === 0 && counts.unanswered < 1000) {
        // No answer: a programmer asks again with the same nonce, which never reserves twice.
        counts.unanswered += 1;
        continue;
      }
      if (error instanceof FlashlineApiError && error.code === 'job_completed') {
        const remaining = Number(error.details?.remaining ?? 0);
        if (remaining <= 0) return;
        units = Math.min(units, remaining);
        nonce = `soak-${randomUUID()}`;
        continue;
      }
      if (error instanceof FlashlineApiError && error.status === 429) {
        // Contention answered as the contract says: wait a little and ask again.
        counts.throttled += 1;
        await new Promise((resolve) => setTimeout(resolve, randomInt(10, 60)));
        continue;
      }
      problems.push(error instanceof FlashlineApiError ? `${error.status} ${error.code}: ${error.message}` : String(error));
      return;
    }
  }
}

async function round(line: Line, index: number): Promise<RoundOutcome> {
  const jobId = await directJob(line, `soak race ${index}`, LIMIT);
  const granted: { units: number; serials: string[] }[] = [];
  const problems: string[] = [];
  const counts = { throttled: 0, unanswered: 0 };
  const started = performance.now();
  await Promise.all(line.programmers.slice(0, CALLERS).map((credentials) => caller(measuring(credentials), jobId, granted, problems, counts)));
  const seconds = (performance.now() - started) / 1000;
  const units = granted.reduce((sum, g) => sum + g.units, 0);
  const serials = granted.flatMap((g) => g.serials);
  const distinct = new Set(serials).size;
  if (units !== LIMIT) problems.push(`${units} units authorized, not ${LIMIT}`);
  if (serials.length !== LIMIT) problems.push(`${serials.length} serials handed out, not ${LIMIT}`);
  if (distinct !== serials.length) problems.push(`${serials.length - distinct} serial(s) handed out twice`);
  const short = granted.filter((g) => g.serials.length !== g.units).length;
  if (short > 0) problems.push(`${short} authorization(s) with a serial count unlike their units`);
  const { job } = await line.admin.call(contract.getJob, { params: { jobId } });
  if (job.counters.authorized !== LIMIT) problems.push(`job counter authorized = ${job.counters.authorized}, not ${LIMIT}`);
  if (job.counters.remaining !== 0) problems.push(`job counter remaining = ${job.counters.remaining}, not 0`);
  if (job.status !== 'completed') problems.push(`job status ${job.status}, not completed`);
  return { ok: problems.length === 0, problems, authorizations: granted.length, units, distinctSerials: distinct, throttled: counts.throttled, unanswered: counts.unanswered, seconds };
}

async function main(): Promise<void> {
  const stack = await ensureLocalStack({ persist: false, log: (line) => process.stderr.write(`[soak] ${line}\n`) });
  let passed = 0;
  try {
    const line = await createLine(await createAccount(`Soak ${new Date().toISOString()}`), CALLERS, 'Soak');
    log(`Race soak: ${CALLERS} callers with 1–3 units each against a job limited to ${LIMIT}, ${ROUNDS} rounds`);
    for (let i = 1; i <= ROUNDS; i += 1) {
      const outcome = await round(line, i);
      if (outcome.ok) passed += 1;
      log(
        `round ${i}/${ROUNDS}: ${outcome.ok ? 'ok' : 'FAILED'} — ${outcome.units} units in ${outcome.authorizations} authorizations, ${outcome.distinctSerials} distinct serials, ` +
          `${outcome.throttled} answered 429, ${outcome.unanswered} unanswered (asked again, same nonce), ${outcome.seconds.toFixed(1)} s${outcome.ok ? '' : `: ${[...new Set(outcome.problems)].join('; ')}`}`,
      );
    }
  } finally {
    if (stack.startedEmulator) stopEmulator();
  }
  log(`${passed}/${ROUNDS} rounds passed`);
  process.exitCode = passed === ROUNDS ? 0 : 1;
}

main().catch((error: Error) => {
  process.stderr.write(`npm run soak:race failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
