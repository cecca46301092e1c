import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { decodeJwsPayload } from '../../shared/domain/jws.js';
import { unitDataDigest } from '../../shared/domain/unit-data.js';
import { createAccount } from '../../shared/store/accounts.js';
import { JobMemory, authorizeUnits } from '../../shared/store/authorizations.js';
import { createDocumentClient, createKmsClient, createS3Client } from '../../shared/store/clients.js';
import type { Db } from '../../shared/store/db.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import { registerImage } from '../../shared/store/images.js';
import { getJob, updateJob } from '../../shared/store/jobs.js';
import { createMacBlock, getMacBlock } from '../../shared/store/mac-blocks.js';
import { provisionProgrammer } from '../../shared/store/programmers.js';
import { createSerialPool, getSerialPool } from '../../shared/store/serial-pools.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';
import { type UnitFieldInput, heldValuesOf, serialsExhausted, takeIndexes } from '../../shared/store/unit-fields.js';
import { keys } from '../../shared/store/keys.js';
import { reportResults } from '../../shared/store/results.js';
import { unitsBySerial } from '../../shared/store/units.js';

const codeOf = (outcome: PromiseSettledResult<unknown>) => (outcome.status === 'rejected' ? (outcome.reason as { code?: string }).code : undefined);

/**
 * Sources of per-unit data shared by jobs, against the emulator's DynamoDB with many concurrent
 * callers: every value goes to one unit at most, whatever the interleaving.
 */
describe('serial pools and MAC blocks on the emulator', () => {
  // One container's memory of jobs, as the device function has: most authorizations reserve beside their reads.
  const jobs = new JobMemory();
  let db: Db;
  let signer: KmsJwsSigner;
  let objects: ImageObjects;
  let accountId: string;
  let factoryId: string;
  const programmers: string[] = [];

  beforeAll(async () => {
    Object.assign(process.env, EMULATOR_AWS_ENV);
    db = { doc: createDocumentClient(), table: inject('tableName'), events: inject('eventsTableName'), cursors: NO_CURSORS };
    signer = new KmsJwsSigner(createKmsClient(), inject('signingKeyId'));
    objects = new ImageObjects(createS3Client(), inject('imagesBucketName'));
    ({ account: { accountId, defaultFactoryId: factoryId } } = await createAccount(db, `Unit sources ${randomUUID()}`));
    for (let i = 0; i < 4; i += 1) {
      programmers.push((await provisionProgrammer(db, accountId, { name: `P${i}`, hardwareSerial: randomUUID() }, 'test')).programmer.programmerId);
    }
  });

  const newJob = async (unitFields: UnitFieldInput[], maxCount?: number, account = accountId, factory = factoryId) =>
    (
      await registerImage(
        { db, signer, objects },
        account,
        { name: 'Units', factoryId: factory, contentSha256: 'd'.repeat(64), sizeBytes: 10, delivery: 'direct', unitFields, ...(maxCount && { restrictions: { maxCount } }) },
        'test',
      )
    ).job.jobId;
  const authorize = (jobId: string, units: number, i = 0, nonce = randomUUID()) =>
    authorizeUnits({ db, tickets: signer, bindings: signer, jobs }, { accountId, programmerId: programmers[i % programmers.length] as string, jobId, units, nonce });

  it('hands disjoint index runs to concurrent takers of one pool, and refuses past its capacity', async () => {
    const pool = await createSerialPool(db, accountId, { name: 'Direct', format: '{n:2}' }, 'test');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => takeIndexes(db, keys.serialPool(accountId, pool.serialPoolId), pool.capacity, (i % 4) + 1, serialsExhausted(pool.serialPoolId))),
    );
    const taken = outcomes.flatMap((o) => (o.status === 'fulfilled' ? o.value.flatMap(([first, count]) => Array.from({ length: count }, (_, k) => first + k)) : []));
    expect(new Set(taken).size).toBe(taken.length);
    expect(Math.max(...taken)).toBeLessThan(100);
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => codeOf(o) === 'serials_exhausted')).toBe(true);
    // 40 requests ask for 100 values: exactly the pool's 100, since single ones fill the last gaps.
    // Issued = handed out + what this process holds for its next takers (a small pool: nothing).
    expect((await getSerialPool(db, accountId, pool.serialPoolId, true)).issued).toBe(taken.length + heldValuesOf(keys.serialPool(accountId, pool.serialPoolId)));
    expect(taken.length).toBeGreaterThanOrEqual(97);
  });

  it('serves a busy server’s takes from what it holds: fewer writes to the pool than takes, no value twice, every issued value accounted for', async () => {
    const pool = await createSerialPool(db, accountId, { name: 'Busy', format: 'B{n:07}' }, 'test');
    const key = keys.serialPool(accountId, pool.serialPoolId);
    let writes = 0;
    const counting: Db = { ...db, doc: { send: (command: { constructor: { name: string } }) => ((writes += command.constructor.name === 'UpdateCommand' ? 1 : 0), db.doc.send(command as never)) } as unknown as Db['doc'] };
    const taken: number[] = [];
    // One server's sequential takes within a second, as a busy programmer line's requests come.
    const startMs = Date.now();
    for (let i = 0; i < 40; i += 1) {
      const runs = await takeIndexes(counting, key, pool.capacity, 1, serialsExhausted(pool.serialPoolId), 1, startMs + i * 20);
      taken.push(...runs.flatMap(([first, count]) => Array.from({ length: count }, (_, k) => first + k)));
    }
    expect(new Set(taken).size).toBe(40);
    // The first take knows nothing of the pool (exact); then each write takes what the last second used.
    expect(writes).toBeLessThanOrEqual(8);
    expect((await getSerialPool(db, accountId, pool.serialPoolId, true)).issued).toBe(40 + heldValuesOf(key));
    expect(heldValuesOf(key)).toBeLessThanOrEqual(32);
  });

  it('never gives one pool value to two units of two jobs sharing the pool, and the ticket signs the unit data', async () => {
    const pool = await createSerialPool(db, accountId, { name: 'Shared', format: 'AB{chars:0-9A-Z}{chars:0-9A-Z}-{X:4}{check:mod37-36}', start: 5 }, 'test');
    const fields = [{ name: 'boardSerial', source: { serialPool: pool.serialPoolId } }];
    const jobs = [await newJob(fields), await newJob(fields)];
    const outcomes = await Promise.all(Array.from({ length: 24 }, (_, i) => authorize(jobs[i % 2] as string, (i % 3) + 1, i)));
    const values = outcomes.flatMap(({ authorization }) => authorization.unitData.map((unit) => unit.fields.boardSerial as string));
    expect(values).toHaveLength(48);
    expect(new Set(values).size).toBe(48);
    for (const { authorization } of outcomes) {
      expect(authorization.unitData.map((unit) => unit.serial)).toEqual(authorization.serials);
      expect(decodeJwsPayload(authorization.ticket)?.ud).toBe(unitDataDigest(authorization.unitData));
    }
    expect((await getSerialPool(db, accountId, pool.serialPoolId, true)).issued).toBe(48 + heldValuesOf(keys.serialPool(accountId, pool.serialPoolId)));
  });

  it('gives a retried nonce the same unit data and ticket, drawing nothing more', async () => {
    const pool = await createSerialPool(db, accountId, { name: 'Replay', format: 'R{n:06}{check:luhn}' }, 'test');
    const jobId = await newJob([{ name: 'sn', source: { serialPool: pool.serialPoolId } }]);
    const nonce = randomUUID();
    const first = await authorize(jobId, 3, 0, nonce);
    const again = await authorize(jobId, 3, 0, nonce);
    expect(again.created).toBe(false);
    expect(JSON.stringify(again.authorization)).toBe(JSON.stringify(first.authorization));
    expect((await getSerialPool(db, accountId, pool.serialPoolId, true)).issued).toBe(3);
  });

  it('refuses an authorization its pool cannot fill and gives its units back to the job', async () => {
    const pool = await createSerialPool(db, accountId, { name: 'Tiny', format: 'T{n:1}' }, 'test');
    const jobId = await newJob([{ name: 'sn', source: { serialPool: pool.serialPoolId } }]);
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => authorize(jobId, 2, i)));
    const granted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.authorization] : []));
    expect(granted).toHaveLength(5);
    expect(outcomes.filter((o) => o.status === 'rejected').map(codeOf)).toEqual(['serials_exhausted', 'serials_exhausted', 'serials_exhausted']);
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(10);
  });

  it('gives each unit perUnit consecutive addresses of a MAC block, never one address twice', async () => {
    const block = await createMacBlock(db, accountId, { name: 'Ethernet', first: `02:${randomUUID().slice(0, 2)}:00:00:00:00`, count: 60 }, 'admin');
    const jobs = [await newJob([{ name: 'mac', source: { macBlock: block.macBlockId, perUnit: 2 } }]), await newJob([{ name: 'mac', source: { macBlock: block.macBlockId, perUnit: 3 } }])];
    const outcomes = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => authorize(jobs[i % 2] as string, 2, i)));
    const granted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.authorization] : []));
    const addresses = granted.flatMap((a) => a.unitData.flatMap((unit) => unit.fields.mac as string[]));
    expect(new Set(addresses).size).toBe(addresses.length);
    for (const a of granted) {
      for (const unit of a.unitData) {
        const numbers = (unit.fields.mac as string[]).map((mac) => Number.parseInt(mac.replaceAll(':', ''), 16));
        numbers.forEach((n, k) => expect(n).toBe((numbers[0] as number) + k));
      }
    }
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => codeOf(o) === 'macs_exhausted')).toBe(true);
    const held = heldValuesOf(keys.macBlock(accountId, block.macBlockId), 2) + heldValuesOf(keys.macBlock(accountId, block.macBlockId), 3);
    expect((await getMacBlock(db, accountId, block.macBlockId)).issued).toBe(addresses.length + held);
  });

  it('lets exactly one of concurrent overlapping MAC blocks in, and every disjoint one', async () => {
    const prefix = `0A:${randomUUID().slice(0, 2)}:${randomUUID().slice(0, 2)}`;
    const overlapping = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => createMacBlock(db, accountId, { name: `O${i}`, first: `${prefix}:00:00:${String(i).padStart(2, '0')}`, count: 100 }, 'admin')));
    expect(overlapping.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(overlapping.filter((o) => o.status === 'rejected').map(codeOf)).toEqual(Array(5).fill('mac_block_overlap'));
    const disjoint = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => createMacBlock(db, accountId, { name: `D${i}`, first: `${prefix}:0${i + 1}:00:00`, count: 65_536 }, 'admin')));
    expect(disjoint.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
  });

  it('changes unit fields only before the first authorization, and the limit never below what is authorized', async () => {
    const pool = await createSerialPool(db, accountId, { name: 'Patch', format: '{n:4}' }, 'test');
    const jobId = await newJob([]);
    const patched = await updateJob(db, accountId, jobId, { unitFields: [{ name: 'sn', source: { serialPool: pool.serialPoolId } }], onFailure: 'return' }, 'test');
    expect(patched.unitFields).toEqual([{ name: 'sn', source: { serialPool: pool.serialPoolId } }]);
    expect(patched.onFailure).toBe('return');
    await authorize(jobId, 5);
    await expect(updateJob(db, accountId, jobId, { onFailure: 'consume' }, 'test')).rejects.toMatchObject({ code: 'job_started' });
    await expect(updateJob(db, accountId, jobId, { restrictions: { maxCount: 4 } }, 'test')).rejects.toMatchObject({ code: 'invalid_transition' });
    expect((await updateJob(db, accountId, jobId, { restrictions: { maxCount: 5 } }, 'test')).counters.remaining).toBe(0);
  });

  it("refuses another account's pool as a job's source, as if it did not exist", async () => {
    const other = await createAccount(db, `Other ${randomUUID()}`);
    const foreign = await createSerialPool(db, other.account.accountId, { name: 'Theirs', format: '{n:4}' }, 'test');
    await expect(newJob([{ name: 'sn', source: { serialPool: foreign.serialPoolId } }])).rejects.toMatchObject({ code: 'not_found' });
    await expect(getSerialPool(db, accountId, foreign.serialPoolId)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('onFailure return: a failed unit\'s count and values go back once, however often the report is retried, and are handed out again exactly once', async () => {
    const pool = await createSerialPool(db, accountId, { name: 'Returns', format: 'RT{n:05}' }, 'test');
    const block = await createMacBlock(db, accountId, { name: 'Returns eth', first: `06:${randomUUID().slice(0, 2)}:00:00:00:00`, count: 1000 }, 'admin');
    const jobId = await newJob([{ name: 'sn', source: { serialPool: pool.serialPoolId } }, { name: 'eth', source: { macBlock: block.macBlockId, perUnit: 2 } }], 100);
    await updateJob(db, accountId, jobId, { onFailure: 'return' }, 'test');
    const programmerId = programmers[0] as string;
    const first = (await authorize(jobId, 10, 0)).authorization;
    const failures = first.serials.map((serial) => ({ serial, status: 'failure' as const }));
    // Two overlapping reports, retried: the reported-unit bits let each failure return once.
    await Promise.all([reportResults(db, accountId, programmerId, first.authorizationId, failures.slice(0, 6)), reportResults(db, accountId, programmerId, first.authorizationId, failures.slice(4))]);
    await reportResults(db, accountId, programmerId, first.authorizationId, failures);
    const job = await getJob(db, accountId, jobId);
    expect(job.counters).toMatchObject({ authorized: 0, failed: 10, returned: 10 });

    const returnedValues = new Set(first.unitData.map((unit) => unit.fields.sn as string));
    const returnedMacs = new Set(first.unitData.flatMap((unit) => unit.fields.eth as string[]));
    const handedOut: { sn: string; eth: string[] }[] = [];
    const collect = (granted: { authorization: { unitData: { fields: Record<string, string | string[]> }[] } }[]) =>
      granted.forEach((g) => g.authorization.unitData.forEach((unit) => handedOut.push({ sn: unit.fields.sn as string, eth: unit.fields.eth as string[] })));
    collect(await Promise.all(Array.from({ length: 8 }, (_, i) => authorize(jobId, 1, i))));
    // Whatever concurrent claimers left (one claim at a time wins, the others drew fresh values) comes next, one by one.
    for (let i = 0; i < 10 && handedOut.filter((unit) => returnedValues.has(unit.sn)).length < 10; i += 1) collect([await authorize(jobId, 1, i)]);

    const serials = handedOut.map((unit) => unit.sn);
    expect(new Set(serials).size).toBe(serials.length);
    expect(serials.filter((sn) => returnedValues.has(sn))).toHaveLength(10);
    const macs = handedOut.flatMap((unit) => unit.eth);
    expect(new Set(macs).size).toBe(macs.length);
    expect(macs.filter((mac) => returnedMacs.has(mac))).toHaveLength(20);
    // A unit's returned addresses stay a consecutive pair.
    for (const unit of handedOut) expect(Number.parseInt(unit.eth[1]!.replaceAll(':', ''), 16) - Number.parseInt(unit.eth[0]!.replaceAll(':', ''), 16)).toBe(1);
    // Every value handed out came from the pool once: what was returned is reused, never drawn twice.
    expect((await getSerialPool(db, accountId, pool.serialPoolId, true)).issued).toBe(10 + serials.length - 10 + heldValuesOf(keys.serialPool(accountId, pool.serialPoolId)));
  });
  it('grants an authorization that takes more returned runs than one transaction holds, and traces each value to it', async () => {
    const pool = await createSerialPool(db, accountId, { name: 'Fragments', format: 'FR{n:05}' }, 'test');
    const jobId = await newJob([{ name: 'sn', source: { serialPool: pool.serialPoolId } }]);
    await updateJob(db, accountId, jobId, { onFailure: 'return' }, 'test');
    // A socket that fails every other unit: each failed value goes back as a run of its own. Both
    // authorizations draw before either reports, so the third finds both returns.
    const earlier = [(await authorize(jobId, 100, 0)).authorization, (await authorize(jobId, 100, 1)).authorization];
    for (const [i, { authorizationId, serials }] of earlier.entries()) {
      await reportResults(db, accountId, programmers[i] as string, authorizationId, serials.map((serial, unit) => ({ serial, status: unit % 2 === 1 ? ('failure' as const) : ('success' as const) })));
    }
    // 100 single-value runs: 100 index items beside the grant, over DynamoDB's 100 items a transaction.
    const { authorization, created } = await authorize(jobId, 100, 2);
    expect(created).toBe(true);
    const reused = authorization.unitData.map((unit) => unit.fields.sn as string);
    const returned = new Set(earlier.flatMap((a) => a.unitData.filter((_, unit) => unit % 2 === 1).map((unit) => unit.fields.sn as string)));
    expect(reused.filter((value) => returned.has(value))).toHaveLength(100);
    for (const serial of [reused[0]!, reused[57]!, reused[99]!]) {
      expect(await unitsBySerial(db, accountId, serial)).toContainEqual(expect.objectContaining({ authorizationId: authorization.authorizationId, serial: expect.any(String) }));
    }
  });
});
