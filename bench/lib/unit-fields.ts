import { createHash, randomUUID } from 'node:crypto';
import type { FlashlineClient } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';
import { type Line, directJob, measuring } from './fixtures.js';
import { type PhaseResult, phase, round, warmUp } from './sweep.js';

/**
 * Issue 8's bench: authorizations of a job with unit fields (a shared serial pool, a MAC block
 * with 2 addresses a unit, a data list with a secret column) against a plain v1 job (private
 * `SN-…` serials) on the same line, same callers, one unit per request. The two alternate in
 * ROUNDS short phases each (plain, fields, plain, fields, …), so a noisy minute on this shared
 * machine hits both; the ratio is of the medians over the rounds.
 */
/** Callers in each phase: a busy line, below where the emulator saturates (the sweep covers 16). */
export const UNIT_FIELDS_CALLERS = 4;
const ROUNDS = 3;
const PHASE_SECONDS = 5;
/** More rows than 2 × ROUNDS × PHASE_SECONDS at the fastest this machine authorizes, with room for warm-ups. */
const LIST_ROWS = 4000;

export interface UnitFieldsResult {
  callers: number;
  rounds: { plain: PhaseResult; fields: PhaseResult }[];
  plainPerSecond: number;
  fieldsPerSecond: number;
  /** Median authorizations/s with fields ÷ without (issue 8: ≥ 0.8). */
  throughputRatio: number;
  plainP50: number;
  fieldsP50: number;
  nonSuccess: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export async function fieldsJob(line: Line, admin: FlashlineClient): Promise<string> {
  const tag = randomUUID().slice(0, 6).toUpperCase();
  const { serialPool } = await line.author.call(contract.createSerialPool, { body: { name: `Bench ${tag}`, format: `B${tag}{n:08}` } });
  // A random block of 2^20 addresses in the locally administered range, so reruns never overlap.
  const base = (0x02_00_00_00_00_00 + Math.floor(Math.random() * 0xff_ff) * 0x10_00_00).toString(16).padStart(12, '0');
  const { macBlock } = await admin.call(contract.createMacBlock, { body: { name: `Bench ${tag}`, first: base.match(/../g)!.join(':'), count: 1 << 20 } });
  const { dataList } = await line.author.call(contract.createDataList, { body: { name: `Bench ${tag}`, columns: [{ name: 'label' }, { name: 'deviceKey', secret: true }] } });
  const rows = Array.from({ length: LIST_ROWS }, (_, i) => `label-${i},${createHash('sha256').update(`${tag}-${i}`).digest('hex')}`).join('\n');
  await line.author.call(contract.uploadDataListRows, { params: { dataListId: dataList.dataListId }, body: { format: 'csv', content: `label,deviceKey\n${rows}\n` } });
  const registered = await line.author.call(contract.registerImage, {
    body: {
      name: `bench unit fields ${tag}`,
      factoryId: line.factoryId,
      contentSha256: createHash('sha256').update(tag).digest('hex'),
      sizeBytes: 1024,
      delivery: 'direct',
      unitFields: [
        { name: 'board', source: { serialPool: serialPool.serialPoolId } },
        { name: 'eth', source: { macBlock: macBlock.macBlockId, perUnit: 2 } },
        { name: 'provisioning', source: { dataList: dataList.dataListId } },
      ],
    },
  });
  return registered.job.jobId;
}

export async function runUnitFields(line: Line, adminCredentials: contract.CredentialsFileType, callers: number, log: (line: string) => void): Promise<UnitFieldsResult> {
  if (line.programmers.length < callers) throw new Error(`the unit-fields step needs ${callers} programmers`);
  const admin = measuring(adminCredentials);
  const plainJobId = await directJob(line, 'bench plain', 10_000_000);
  const fieldsJobId = await fieldsJob(line, admin);
  const clients = line.programmers.slice(0, callers).map(measuring);
  const authorize = (jobId: string) => (client: FlashlineClient) => client.call(contract.authorizeProgramming, { body: { jobId, units: 1, nonce: `fields-${randomUUID()}` } });
  await warmUp(clients, authorize(plainJobId));
  await warmUp(clients, authorize(fieldsJobId));
  const rounds: UnitFieldsResult['rounds'] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const plain = await phase(clients, PHASE_SECONDS, authorize(plainJobId));
    const fields = await phase(clients, PHASE_SECONDS, authorize(fieldsJobId));
    rounds.push({ plain, fields });
    log(`unit fields round ${i + 1}: plain ${plain.perSecond}/s (p50 ${plain.p50} ms), with fields ${fields.perSecond}/s (p50 ${fields.p50} ms)`);
  }
  const plainPerSecond = median(rounds.map((r) => r.plain.perSecond));
  const fieldsPerSecond = median(rounds.map((r) => r.fields.perSecond));
  const failures = (result: PhaseResult) => Object.values(result.non2xx).reduce((a, b) => a + b, 0);
  return {
    callers,
    rounds,
    plainPerSecond,
    fieldsPerSecond,
    throughputRatio: round(fieldsPerSecond / plainPerSecond, 2),
    plainP50: median(rounds.map((r) => r.plain.p50)),
    fieldsP50: median(rounds.map((r) => r.fields.p50)),
    nonSuccess: rounds.reduce((sum, r) => sum + failures(r.plain) + failures(r.fields), 0),
  };
}

export function renderUnitFields(result: UnitFieldsResult): string {
  return [
    `Unit fields (serial pool + MAC block ×2 + data list with a secret column) vs a plain job, ${result.callers} callers, ${result.rounds.length} alternating rounds of ${PHASE_SECONDS} s:`,
    `  plain: ${result.plainPerSecond} authorizations/s (median p50 ${result.plainP50} ms)`,
    `  with unit fields: ${result.fieldsPerSecond} authorizations/s (median p50 ${result.fieldsP50} ms)`,
    `  ratio: ${result.throughputRatio} (goal ≥ 0.8); non-2xx: ${result.nonSuccess}`,
  ].join('\n');
}
