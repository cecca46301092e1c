import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { createAccount } from '../../shared/store/accounts.js';
import { JobMemory, authorizeUnits } from '../../shared/store/authorizations.js';
import { createDocumentClient, createKmsClient, createS3Client } from '../../shared/store/clients.js';
import type { Db } from '../../shared/store/db.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import { createFactory } from '../../shared/store/factories.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import { registerImage } from '../../shared/store/images.js';
import { getJob } from '../../shared/store/jobs.js';
import { provisionProgrammer } from '../../shared/store/programmers.js';
import { recordResults } from '../../shared/store/results.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';
import { getAuthorizationRecord } from '../../shared/store/authorizations.js';

/**
 * The store's conditional writes and transactions, called directly against the emulator's
 * DynamoDB and KMS with many concurrent callers: the guarantees must come from the database,
 * not from luck in scheduling.
 */
describe('atomic writes on the emulator', () => {
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
    db = { doc: createDocumentClient(), table: inject('tableName'), events: inject('eventsTableName'), cursors: ephemeralCursorCodec() };
    signer = new KmsJwsSigner(createKmsClient(), inject('signingKeyId'));
    objects = new ImageObjects(createS3Client(), inject('imagesBucketName'));
    ({ account: { accountId, defaultFactoryId: factoryId } } = await createAccount(db, `Atomicity ${randomUUID()}`));
    for (let i = 0; i < 6; i += 1) {
      programmers.push((await provisionProgrammer(db, accountId, { name: `P${i}`, hardwareSerial: randomUUID() }, 'test')).programmer.programmerId);
    }
  });

  const newJob = async (maxCount?: number) =>
    (
      await registerImage(
        { db, signer, objects },
        accountId,
        { name: 'Atomic', factoryId, contentSha256: 'c'.repeat(64), sizeBytes: 10, delivery: 'direct', ...(maxCount && { restrictions: { maxCount } }) },
        'test',
      )
    ).job.jobId;

  it('never exceeds the count limit nor repeats a serial, whatever the concurrency', async () => {
    const jobId = await newJob(25);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 36 }, (_, i) =>
        authorizeUnits({ db, tickets: signer, bindings: signer, jobs }, { accountId, programmerId: programmers[i % programmers.length] as string, jobId, units: (i % 3) + 1, nonce: randomUUID() }),
      ),
    );
    const granted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.authorization] : []));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as { code?: string }).code] : []));
    const serials = granted.flatMap((a) => a.serials);
    expect(serials.length).toBeLessThanOrEqual(25);
    expect(new Set(serials).size).toBe(serials.length);
    expect(refused.every((code) => code === 'job_completed')).toBe(true);
    const job = await getJob(db, accountId, jobId);
    expect(job.counters.authorized).toBe(serials.length);
    // 36 requests of 1–3 units ask for 72: the limit must be reached exactly, since single units can always fill the last gap.
    expect(job.counters.authorized).toBeGreaterThanOrEqual(23);
  });

  it('gives the same authorization to concurrent retries of one nonce, and counts it once', async () => {
    const jobId = await newJob(100);
    const nonce = randomUUID();
    const [programmerId] = programmers as [string];
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => authorizeUnits({ db, tickets: signer, bindings: signer, jobs }, { accountId, programmerId, jobId, units: 4, nonce })));
    expect(new Set(outcomes.map((o) => o.authorization.authorizationId)).size).toBe(1);
    expect(new Set(outcomes.map((o) => o.authorization.serials.join())).size).toBe(1);
    expect(outcomes.filter((o) => o.created)).toHaveLength(1);
    expect((await getJob(db, accountId, jobId)).counters.authorized).toBe(4);
  });

  it('counts results once however many concurrent retries report them', async () => {
    const jobId = await newJob();
    const [programmerId] = programmers as [string];
    const { authorization } = await authorizeUnits({ db, tickets: signer, bindings: signer, jobs }, { accountId, programmerId, jobId, units: 150, nonce: randomUUID() });
    const record = await getAuthorizationRecord(db, accountId, programmerId, authorization.authorizationId);
    const results = record.serials.map((serial, i) => ({ serial, status: i % 10 === 0 ? ('failure' as const) : ('success' as const) }));
    const reports = await Promise.all(Array.from({ length: 3 }, () => recordResults(db, accountId, record, results)));
    expect(reports.reduce((sum, r) => sum + r.recorded, 0)).toBe(150);
    const job = await getJob(db, accountId, jobId);
    expect(job.counters).toMatchObject({ succeeded: 135, failed: 15 });
  });

  it('lets exactly one of many concurrent creators take a factory name', async () => {
    const name = `Contended ${randomUUID()}`;
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => createFactory(db, accountId, name, 'test')));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.code)).toEqual(Array(5).fill('name_taken'));
  });
});
