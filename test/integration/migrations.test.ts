import { randomUUID } from 'node:crypto';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { createAccount } from '../../shared/store/accounts.js';
import { getAuthorizationRecord, releaseAuthorization } from '../../shared/store/authorizations.js';
import { createDocumentClient, createKmsClient, createS3Client } from '../../shared/store/clients.js';
import type { Db } from '../../shared/store/db.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import { registerImage } from '../../shared/store/images.js';
import { getJob, listJobs } from '../../shared/store/jobs.js';
import { keys } from '../../shared/store/keys.js';
import { migrateToV11 } from '../../shared/store/migrations.js';
import { provisionProgrammer } from '../../shared/store/programmers.js';
import { listResults, recordResults } from '../../shared/store/results.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';

/**
 * Data as versions before v1.1 wrote it (jobs in the all-attribute factory index, one result
 * item per unit, authorizations with their serial list), brought into the v1.1 layout.
 */
describe('migrating data written before v1.1', () => {
  let db: Db;
  let accountId: string;
  let factoryId: string;
  let programmerId: string;
  let jobId: string;
  const authorizationId = `auth_${randomUUID().replace(/-/g, '')}`;
  const serials = ['SN-00000001', 'SN-00000002', 'SN-00000003', 'SN-00000004'];
  const reportedAt = '2026-10-01T08:00:00.000Z';

  beforeAll(async () => {
    Object.assign(process.env, EMULATOR_AWS_ENV);
    db = { doc: createDocumentClient(), table: inject('tableName'), events: inject('eventsTableName'), cursors: ephemeralCursorCodec() };
    const signer = new KmsJwsSigner(createKmsClient(), inject('signingKeyId'));
    ({ account: { accountId, defaultFactoryId: factoryId } } = await createAccount(db, `Migration ${randomUUID()}`));
    programmerId = (await provisionProgrammer(db, accountId, { name: 'P', hardwareSerial: randomUUID() }, 'test')).programmer.programmerId;
    jobId = (
      await registerImage(
        { db, signer, objects: new ImageObjects(createS3Client(), inject('imagesBucketName')) },
        accountId,
        { name: 'Legacy', factoryId, contentSha256: 'e'.repeat(64), sizeBytes: 10, delivery: 'direct', restrictions: { maxCount: 10 } },
        'test',
      )
    ).job.jobId;
    // The job as v1 indexed it, 4 units authorized and 3 of them reported.
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.job(accountId, jobId),
        UpdateExpression: 'SET gsi1pk = gsi2pk, gsi1sk = gsi2sk, authorized = :four, nextSerialIndex = :four, succeeded = :two, failed = :one REMOVE gsi2pk, gsi2sk',
        ExpressionAttributeValues: { ':four': 4, ':two': 2, ':one': 1 },
      }),
    );
    await db.doc.send(
      new PutCommand({
        TableName: db.table,
        Item: { ...keys.authorization(accountId, authorizationId), type: 'authorization', authorizationId, jobId, programmerId, nonce: 'n', units: 4, run: 1, state: 'granted', serials, ticket: 'a.b.c', expiresAt: '2026-10-01T08:10:00.000Z', reported: 3 },
      }),
    );
    for (const [i, serial] of serials.slice(0, 3).entries()) {
      await db.doc.send(
        new PutCommand({
          TableName: db.events,
          Item: {
            pk: `ACCT#${accountId}#AUTH#${authorizationId}`,
            sk: `RES#${serial}`,
            gsi1pk: `ACCT#${accountId}#JOB#${jobId}#RES`,
            gsi1sk: `${reportedAt}#${authorizationId}#${serial}`,
            type: 'result',
            authorizationId,
            programmerId,
            jobId,
            serial,
            status: i === 0 ? 'failure' : 'success',
            ...(i === 0 && { errorCode: 'VERIFY' }),
            durationMs: 1000 + i,
            at: '2026-10-01T07:59:0' + i + '.000Z',
            reportedAt,
            run: 1,
            expiresAt: 1_900_000_000,
          },
        }),
      );
    }
  });

  it('lists the jobs and results again, counts old results as reported, and changes nothing the second time', async () => {
    expect((await listJobs(db, accountId, { limit: 10, factoryId })).items).toHaveLength(0);

    const first = await migrateToV11(db);
    expect(first.jobsIndexed).toBeGreaterThanOrEqual(1);
    expect(first.legacyResults).toBeGreaterThanOrEqual(3);

    expect((await listJobs(db, accountId, { limit: 10, factoryId })).items.map((job) => job.jobId)).toEqual([jobId]);
    const page = await listResults(db, accountId, jobId, { limit: 10 }, Date.now() + 10_000);
    expect(page.items.map((r) => [r.serial, r.status, r.errorCode, r.durationMs, r.at, r.reportedAt])).toEqual([
      ['SN-00000001', 'failure', 'VERIFY', 1000, '2026-10-01T07:59:00.000Z', reportedAt],
      ['SN-00000002', 'success', null, 1001, '2026-10-01T07:59:01.000Z', reportedAt],
      ['SN-00000003', 'success', null, 1002, '2026-10-01T07:59:02.000Z', reportedAt],
    ]);

    // The old results count as reported: a repeat is a duplicate, the release returns only the fourth unit.
    const record = await getAuthorizationRecord(db, accountId, programmerId, authorizationId);
    await expect(recordResults(db, accountId, record, [{ serial: 'SN-00000002', status: 'success' }])).resolves.toEqual({ recorded: 0, duplicates: 1, failed: 0 });
    await expect(releaseAuthorization(db, accountId, programmerId, authorizationId)).resolves.toMatchObject({ reported: 3, returned: 1 });
    expect((await getJob(db, accountId, jobId)).counters).toMatchObject({ authorized: 3, succeeded: 2, failed: 1, returned: 1 });

    const second = await migrateToV11(db);
    expect(second).toMatchObject({ jobsIndexed: 0, resultBatchesWritten: 0, authorizationsMarked: 0 });
    expect((await listResults(db, accountId, jobId, { limit: 10 }, Date.now() + 10_000)).items).toHaveLength(3);
  });
});
