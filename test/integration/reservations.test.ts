import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { createAccount } from '../../shared/store/accounts.js';
import { JobMemory, authorizationIdFor, authorizeUnits, getAuthorizationRecord, releaseAuthorization } from '../../shared/store/authorizations.js';
import { createDocumentClient, createKmsClient, createS3Client } from '../../shared/store/clients.js';
import type { Db } from '../../shared/store/db.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import { registerImage } from '../../shared/store/images.js';
import { getJob, transitionJob, updateJob } from '../../shared/store/jobs.js';
import { keys } from '../../shared/store/keys.js';
import { getProgrammer, provisionProgrammer, updateProgrammer } from '../../shared/store/programmers.js';
import { listResults, recordResults } from '../../shared/store/results.js';
import { createSerialPool } from '../../shared/store/serial-pools.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';

/** What a process crash looks like to DynamoDB: the writes made so far stay, nothing after them happens. */
class Crash extends Error {
  override readonly name = 'Crash';
}

const WRITE_COMMANDS = new Set(['PutCommand', 'UpdateCommand', 'DeleteCommand', 'TransactWriteCommand']);

/** A Db whose process "dies" right after its n-th successful write. */
function crashingAfterWrites(db: Db, writes: number): Db {
  let done = 0;
  const send = async (command: { constructor: { name: string } }) => {
    if (done >= writes) throw new Crash(`process died after ${writes} write(s)`);
    const output = await (db.doc.send as (c: unknown) => Promise<unknown>)(command);
    if (WRITE_COMMANDS.has(command.constructor.name)) done += 1;
    return output;
  };
  return { ...db, doc: new Proxy(db.doc, { get: (target, property) => (property === 'send' ? send : Reflect.get(target, property)) }) };
}

/** A Db whose request stops before its n-th write until `resume` is called: a request still running while a twin acts. */
function stallingBeforeWrite(db: Db, write: number): { db: Db; reached: Promise<void>; resume: () => void } {
  let writes = 0;
  let resume!: () => void;
  let reachedGate!: () => void;
  const gate = new Promise<void>((resolve) => (resume = resolve));
  const reached = new Promise<void>((resolve) => (reachedGate = resolve));
  const send = async (command: { constructor: { name: string } }) => {
    if (WRITE_COMMANDS.has(command.constructor.name) && ++writes === write) {
      reachedGate();
      await gate;
    }
    return (db.doc.send as (c: unknown) => Promise<unknown>)(command);
  };
  return { db: { ...db, doc: new Proxy(db.doc, { get: (target, property) => (property === 'send' ? send : Reflect.get(target, property)) }) }, reached, resume };
}

/**
 * The reservation's guarantees with real conditional writes on the emulator: a crash between
 * any two writes of an authorization never leaves units counted that no authorization holds,
 * and a retried nonce never reserves twice. Leases give back exactly the unreported units.
 */
describe('reservations, crashes and leases on the emulator', () => {
  let db: Db;
  let signer: KmsJwsSigner;
  let accountId: string;
  let factoryId: string;
  let programmerId: string;
  // One container's memory of jobs: after a job's first authorization, it reserves beside its reads.
  const jobs = new JobMemory();
  const deps = () => ({ db, tickets: signer, bindings: signer, jobs });

  beforeAll(async () => {
    Object.assign(process.env, EMULATOR_AWS_ENV);
    db = { doc: createDocumentClient(), table: inject('tableName'), events: inject('eventsTableName'), cursors: ephemeralCursorCodec() };
    signer = new KmsJwsSigner(createKmsClient(), inject('signingKeyId'));
    ({ account: { accountId, defaultFactoryId: factoryId } } = await createAccount(db, `Reservations ${randomUUID()}`));
    programmerId = (await provisionProgrammer(db, accountId, { name: 'P', hardwareSerial: randomUUID() }, 'test')).programmer.programmerId;
  });

  const newJob = async (maxCount = 100) =>
    (
      await registerImage(
        { db, signer, objects: new ImageObjects(createS3Client(), inject('imagesBucketName')) },
        accountId,
        { name: 'Leases', factoryId, contentSha256: 'd'.repeat(64), sizeBytes: 10, delivery: 'direct', restrictions: { maxCount } },
        'test',
      )
    ).job.jobId;

  const ledgerEntries = async (jobId: string) => {
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.job(accountId, jobId), ConsistentRead: true }));
    return Object.keys(Item ?? {}).filter((name) => keys.parseReservationAttribute(name));
  };

  // Writes of one authorization: 1 the reservation, 2 the authorization item.
  it('a retry of the nonce after a crash following the reservation finishes it, with the units counted once', async () => {
    const jobId = await newJob(10);
    const request = { accountId, programmerId, jobId, units: 4, nonce: randomUUID() };
    await expect(authorizeUnits({ ...deps(), db: crashingAfterWrites(db, 1) }, request)).rejects.toBeInstanceOf(Crash);
    expect(await ledgerEntries(jobId)).toHaveLength(1);

    const { authorization, created } = await authorizeUnits(deps(), request);
    expect(created).toBe(true);
    const job = await getJob(db, accountId, jobId);
    expect(job.counters.authorized).toBe(4);
    // The serials are the reservation's: a crash did not burn any.
    expect(authorization.serials).toEqual(['SN-00000001', 'SN-00000002', 'SN-00000003', 'SN-00000004']);
    // A second retry is a replay, not a new reservation.
    await expect(authorizeUnits(deps(), request)).resolves.toMatchObject({ created: false, authorization: { serials: authorization.serials } });
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(4);
  });

  it('a retry of the nonce whose answer was lost after the grant gets the stored authorization back', async () => {
    const jobId = await newJob(10);
    const request = { accountId, programmerId, jobId, units: 4, nonce: randomUUID() };
    // The grant is the last write: a crash after it is an answer that never reached the programmer.
    await expect(authorizeUnits({ ...deps(), db: crashingAfterWrites(db, 2) }, request)).resolves.toMatchObject({ created: true });
    const { authorization, created } = await authorizeUnits(deps(), request);
    expect(created).toBe(false);
    expect(authorization.serials).toEqual(['SN-00000001', 'SN-00000002', 'SN-00000003', 'SN-00000004']);
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(4);
  });

  it('rolls back a dead request’s reservation when no retry comes, so the units are the job’s again', async () => {
    const jobId = await newJob(10);
    const dead = { accountId, programmerId, jobId, units: 6, nonce: randomUUID() };
    await expect(authorizeUnits({ ...deps(), db: crashingAfterWrites(db, 1) }, dead)).rejects.toBeInstanceOf(Crash);
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(6);
    expect(await ledgerEntries(jobId)).toHaveLength(1);

    // Another programmer's request comes after the dead one is stale (the test shortens "stale" to 0 ms).
    const next = await authorizeUnits({ ...deps(), staleAfterMs: 0 }, { accountId, programmerId, jobId, units: 3, nonce: randomUUID() });
    expect(next.created).toBe(true);
    const job = await getJob(db, accountId, jobId);
    expect(job.counters.authorized).toBe(3);
    const deadRecord = await db.doc.send(
      new GetCommand({ TableName: db.table, Key: keys.authorization(accountId, authorizationIdFor(accountId, programmerId, dead.nonce)), ConsistentRead: true }),
    );
    expect(deadRecord.Item?.state).toBe('abandoned');

    // The dead request's programmer comes back with the same nonce: it reserves anew, under the limit.
    const revived = await authorizeUnits(deps(), dead);
    expect(revived.created).toBe(true);
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(9);
    // The abandoned serials are never handed out again.
    expect(new Set([...next.authorization.serials, ...revived.authorization.serials]).size).toBe(9);
    expect(revived.authorization.serials).not.toContain('SN-00000001');
  });

  it('removes the ledger entries of granted authorizations in later writes, at no write of their own', async () => {
    const jobId = await newJob(1000);
    for (let i = 0; i < 5; i += 1) await authorizeUnits(deps(), { accountId, programmerId, jobId, units: 1, nonce: randomUUID() });
    // Only the latest reservation's entry remains until the next write on the job takes it along.
    expect((await ledgerEntries(jobId)).length).toBeLessThanOrEqual(1);
  });

  it('a release returns exactly the unreported units, once, and refuses later results for them', async () => {
    const jobId = await newJob(20);
    const { authorization } = await authorizeUnits(deps(), { accountId, programmerId, jobId, units: 10, nonce: randomUUID() });
    const record = await getAuthorizationRecord(db, accountId, programmerId, authorization.authorizationId);
    const reported = record.serials.slice(0, 4).map((serial, i) => ({ serial, status: i === 0 ? ('failure' as const) : ('success' as const) }));
    await recordResults(db, accountId, record, reported);

    const release = await releaseAuthorization(db, accountId, programmerId, authorization.authorizationId);
    expect(release).toEqual({ authorizationId: authorization.authorizationId, units: 10, reported: 4, returned: 6 });
    await expect(releaseAuthorization(db, accountId, programmerId, authorization.authorizationId)).resolves.toEqual(release);
    const job = await getJob(db, accountId, jobId);
    expect(job.counters).toMatchObject({ authorized: 4, returned: 6, succeeded: 3, failed: 1, remaining: 16 });

    const released = await getAuthorizationRecord(db, accountId, programmerId, authorization.authorizationId);
    await expect(recordResults(db, accountId, released, [{ serial: record.serials[7] as string, status: 'success' }])).rejects.toMatchObject({
      status: 409,
      code: 'authorization_released',
    });
    // A retry of a result that was in before the release is still a harmless duplicate.
    await expect(recordResults(db, accountId, released, [reported[1]!])).resolves.toEqual({ recorded: 0, duplicates: 1, failed: 0 });
    expect((await getJob(db, accountId, jobId)).counters).toMatchObject({ authorized: 4, succeeded: 3 });
  });

  it('keeps counters exact when results and a release race', async () => {
    const jobId = await newJob(50);
    const { authorization } = await authorizeUnits(deps(), { accountId, programmerId, jobId, units: 12, nonce: randomUUID() });
    const record = await getAuthorizationRecord(db, accountId, programmerId, authorization.authorizationId);
    const reports = record.serials.map((serial) => recordResults(db, accountId, record, [{ serial, status: 'success' }]));
    const [release, ...outcomes] = await Promise.allSettled([releaseAuthorization(db, accountId, programmerId, authorization.authorizationId), ...reports]);
    expect(release.status).toBe('fulfilled');
    const { reported, returned } = (release as PromiseFulfilledResult<{ reported: number; returned: number }>).value;
    const recorded = outcomes.filter((o) => o.status === 'fulfilled' && o.value.recorded === 1).length;
    const refused = outcomes.filter((o) => o.status === 'rejected' && (o.reason as { code?: string }).code === 'authorization_released').length;
    expect(recorded + refused).toBe(12);
    expect(reported).toBe(recorded);
    expect(returned).toBe(refused);
    expect((await getJob(db, accountId, jobId)).counters).toMatchObject({ authorized: recorded, returned: refused, succeeded: recorded });
  });

  it('lists results one by one across reports, with pages that end inside a report', async () => {
    const jobId = await newJob(50);
    const { authorization } = await authorizeUnits(deps(), { accountId, programmerId, jobId, units: 8, nonce: randomUUID() });
    const record = await getAuthorizationRecord(db, accountId, programmerId, authorization.authorizationId);
    const at = '2026-11-27T09:00:00.000Z';
    for (const slice of [[0, 4], [4, 5], [5, 8]] as const) {
      const results = record.serials.slice(...slice).map((serial) => ({ serial, status: 'success' as const, durationMs: 1200, at }));
      await recordResults(db, accountId, record, results);
    }
    const later = Date.now() + 10_000; // past the feed's settling horizon
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await listResults(db, accountId, jobId, { limit: 3, cursor }, later);
      pages.push(page.items.map((item) => item.serial));
      expect(page.items.every((item) => item.at === at && item.durationMs === 1200 && item.authorizationId === authorization.authorizationId)).toBe(true);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pages.flat()).toEqual(record.serials);
    expect(pages.map((page) => page.length)).toEqual([3, 3, 2]);
  });

  // A container that knows a job (it reserved on it before) reserves beside reading the
  // programmer and the nonce: these check that nothing it remembers can grant what the job or
  // the programmer no longer allows.
  it('a container that knows the job refuses a programmer disabled since, and gives the reservation back at once', async () => {
    const jobId = await newJob(10);
    const other = (await provisionProgrammer(db, accountId, { name: 'Q', hardwareSerial: randomUUID() }, 'test')).programmer.programmerId;
    await authorizeUnits(deps(), { accountId, programmerId: other, jobId, units: 2, nonce: randomUUID() });
    await updateProgrammer(db, accountId, other, { status: 'disabled' }, 'test');
    await expect(authorizeUnits(deps(), { accountId, programmerId: other, jobId, units: 3, nonce: randomUUID() })).rejects.toMatchObject({ code: 'programmer_disabled' });
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(2);
    expect((await ledgerEntries(jobId)).length).toBeLessThanOrEqual(1);
    // Its serials were burned, never handed out twice: the next unit follows them.
    const next = await authorizeUnits(deps(), { accountId, programmerId, jobId, units: 1, nonce: randomUUID() });
    expect(next.authorization.serials[0]).not.toMatch(/^SN-0000000[12]$/);
  });

  it('a container that knows the job decides on its limit, dates and lease ceiling as they are now', async () => {
    const jobId = await newJob(10);
    await authorizeUnits(deps(), { accountId, programmerId, jobId, units: 4, nonce: randomUUID() });
    // The limit falls to what is authorized: the remembered limit (10) must not grant.
    await updateJob(db, accountId, jobId, { restrictions: { maxCount: 4 } }, 'test');
    await expect(authorizeUnits(deps(), { accountId, programmerId, jobId, units: 1, nonce: randomUUID() })).rejects.toMatchObject({ code: 'job_completed' });
    // The limit rises and the job ends in two minutes: the lease ends with it, not ten minutes on.
    const notAfter = new Date(Date.now() + 120_000).toISOString();
    await updateJob(db, accountId, jobId, { restrictions: { maxCount: 8, notAfter } }, 'test');
    const { authorization } = await authorizeUnits(deps(), { accountId, programmerId, jobId, units: 1, nonce: randomUUID() });
    expect(Date.parse(authorization.expiresAt)).toBeLessThanOrEqual(Date.parse(notAfter));
    // The lease ceiling falls below what the programmer asks for.
    await updateJob(db, accountId, jobId, { restrictions: { maxLeaseSeconds: 60 } }, 'test');
    await expect(authorizeUnits(deps(), { accountId, programmerId, jobId, units: 1, nonce: randomUUID(), validSeconds: 90 })).rejects.toMatchObject({ code: 'lease_too_long' });
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(5);
  });
  it('a retry of the nonce after a restart reserves in the new run, never granting the old run’s reservation uncounted', async () => {
    const jobId = await newJob(10);
    const request = { accountId, programmerId, jobId, units: 4, nonce: randomUUID() };
    await expect(authorizeUnits({ ...deps(), db: crashingAfterWrites(db, 1) }, request)).rejects.toBeInstanceOf(Crash);
    await transitionJob(db, accountId, jobId, 'restart', 'test');
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(0);

    const { authorization, created } = await authorizeUnits(deps(), request);
    expect(created).toBe(true);
    // The units it holds are the new run's: counted, and after the old reservation's serials.
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(4);
    expect(authorization.serials).toEqual(['SN-00000005', 'SN-00000006', 'SN-00000007', 'SN-00000008']);
  });

  it('a retry that takes over a still-running twin’s reservation never gives it back, even when its own draw fails', async () => {
    // Four values in all: the first attempt draws them, so its retry's draw finds none.
    const pool = await createSerialPool(db, accountId, { name: 'Four', format: '{n:1}', start: 6 }, 'test');
    const jobId = (
      await registerImage(
        { db, signer, objects: new ImageObjects(createS3Client(), inject('imagesBucketName')) },
        accountId,
        { name: 'Twins', factoryId, contentSha256: 'd'.repeat(64), sizeBytes: 10, delivery: 'direct', restrictions: { maxCount: 10 }, unitFields: [{ name: 'sn', source: { serialPool: pool.serialPoolId } }] },
        'test',
      )
    ).job.jobId;
    const request = { accountId, programmerId, jobId, units: 4, nonce: randomUUID() };
    // Writes of the first attempt: 1 the reservation, 2 the pool's draw, 3 the grant, where it stalls.
    const first = stallingBeforeWrite(db, 3);
    const firstAttempt = authorizeUnits({ ...deps(), db: first.db, jobs: new JobMemory() }, request);
    await first.reached;

    await expect(authorizeUnits({ ...deps(), jobs: new JobMemory() }, request)).rejects.toMatchObject({ code: 'serials_exhausted' });
    first.resume();
    await expect(firstAttempt).resolves.toMatchObject({ created: true, authorization: { units: 4 } });
    // The granted units stay counted: the retry left the reservation to the sweep.
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(4);
    expect(await authorizeUnits({ ...deps(), jobs: new JobMemory() }, request)).toMatchObject({ created: false });
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(4);
  });
  it('a rename racing a disable never writes the programmer active again', async () => {
    const { programmerId: stolen } = (await provisionProgrammer(db, accountId, { name: 'Stolen', hardwareSerial: randomUUID() }, 'test')).programmer;
    // The rename reads the programmer active, then stalls before its write while another admin disables it.
    const rename = stallingBeforeWrite(db, 1);
    const renaming = updateProgrammer(rename.db, accountId, stolen, { name: 'Stolen (line 2)' }, 'admin-a');
    await rename.reached;
    await updateProgrammer(db, accountId, stolen, { status: 'disabled' }, 'admin-b');
    rename.resume();
    await renaming;
    expect(await getProgrammer(db, accountId, stolen, true)).toMatchObject({ name: 'Stolen (line 2)', status: 'disabled' });
  });
});
