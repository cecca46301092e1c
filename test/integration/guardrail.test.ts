import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { createAccount } from '../../shared/store/accounts.js';
import { authorizeUnits, getAuthorizationRecord } from '../../shared/store/authorizations.js';
import { createDocumentClient, createKmsClient, createS3Client } from '../../shared/store/clients.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import { registerImage } from '../../shared/store/images.js';
import { getJob } from '../../shared/store/jobs.js';
import { keys } from '../../shared/store/keys.js';
import { provisionProgrammer } from '../../shared/store/programmers.js';
import { recordResults } from '../../shared/store/results.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';

/**
 * The yield guardrail under concurrent reports on the emulator: however the reports interleave,
 * the counters equal the results, the job is paused exactly when the rate crosses, and exactly one
 * audit record says the guardrail did it.
 */
describe('yield guardrail under concurrency', () => {
  let db: Db;
  let signer: KmsJwsSigner;
  let accountId: string;
  let factoryId: string;
  const programmers: string[] = [];

  beforeAll(async () => {
    Object.assign(process.env, EMULATOR_AWS_ENV);
    db = { doc: createDocumentClient(), table: inject('tableName'), events: inject('eventsTableName'), cursors: ephemeralCursorCodec() };
    signer = new KmsJwsSigner(createKmsClient(), inject('signingKeyId'));
    ({ account: { accountId, defaultFactoryId: factoryId } } = await createAccount(db, `Guardrail ${randomUUID()}`));
    for (let i = 0; i < 4; i += 1) programmers.push((await provisionProgrammer(db, accountId, { name: `G${i}`, hardwareSerial: randomUUID() }, 'test')).programmer.programmerId);
  });

  it('pauses once, in the write whose results cross, with every result counted once', async () => {
    const objects = new ImageObjects(createS3Client(), inject('imagesBucketName'));
    const { job } = await registerImage(
      { db, signer, objects },
      accountId,
      { name: 'Guarded', factoryId, contentSha256: 'd'.repeat(64), sizeBytes: 10, delivery: 'direct', restrictions: { autoPause: { failureRate: 0.3, minUnits: 20 } } },
      'test',
    );
    const grants = await Promise.all(
      programmers.map(async (programmerId) => {
        const { authorization } = await authorizeUnits({ db, tickets: signer, bindings: signer }, { accountId, programmerId, jobId: job.jobId, units: 10, nonce: randomUUID() });
        return getAuthorizationRecord(db, accountId, programmerId, authorization.authorizationId);
      }),
    );
    // 40 units, four failures in each ten (16 of 40): the rate is past 0.3 somewhere after 20 results.
    const reports = grants.flatMap((record) => record.serials.map((serial, i) => ({ record, result: { serial, status: (i % 3 === 0 ? 'failure' : 'success') as 'success' | 'failure' } })));
    // Four programmers at once, each reporting its units one by one (as a programmer does).
    await Promise.all(grants.map(async (record) => {
      for (const { result } of reports.filter((report) => report.record === record)) await recordResults(db, accountId, record, [result]);
    }));
    // Retries of every report change nothing.
    await Promise.all(reports.slice(0, 10).map(({ record, result }) => recordResults(db, accountId, record, [result])));

    const after = await getJob(db, accountId, job.jobId);
    expect(after.counters).toMatchObject({ succeeded: 24, failed: 16 });
    expect(after.status).toBe('paused');
    const { Items } = await db.doc.send(new QueryCommand({ TableName: db.events, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': keys.auditPartition(accountId) } }));
    const pauses = (Items ?? []).filter((item) => item.action === 'job.pause' && item.targetId === job.jobId);
    expect(pauses).toHaveLength(1);
    expect(pauses[0]).toMatchObject({ actor: 'guardrail' });
    const crossed = pauses[0]!.details as { succeeded: number; failed: number };
    expect(crossed.succeeded + crossed.failed).toBeGreaterThanOrEqual(20);
    expect(crossed.failed / (crossed.succeeded + crossed.failed)).toBeGreaterThanOrEqual(0.3);
  });

  it('records 40 reports landing at once, failures among them, without one re-planning another while the rate is far below the guardrail', async () => {
    const objects = new ImageObjects(createS3Client(), inject('imagesBucketName'));
    const { job } = await registerImage(
      { db, signer, objects },
      accountId,
      { name: 'Guarded, busy', factoryId, contentSha256: 'e'.repeat(64), sizeBytes: 10, delivery: 'direct', restrictions: { autoPause: { failureRate: 0.5, minUnits: 10 } } },
      'test',
    );
    // One-unit authorizations, so the reports share nothing but the job's counters.
    const grants = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const programmerId = programmers[i % programmers.length]!;
        const { authorization } = await authorizeUnits({ db, tickets: signer, bindings: signer }, { accountId, programmerId, jobId: job.jobId, units: 1, nonce: randomUUID() });
        return getAuthorizationRecord(db, accountId, programmerId, authorization.authorizationId);
      }),
    );
    // A line that has been running: 20 successes, reported one after another.
    for (const record of grants.slice(0, 20)) await recordResults(db, accountId, record, [{ serial: record.serials[0]!, status: 'success' }]);
    // The same client, counting the report transactions it sends (nothing is replaced).
    let transactions = 0;
    const counting: Db = { ...db, doc: { send: (command: unknown) => { if (command instanceof TransactWriteCommand) transactions += 1; return db.doc.send(command as never); } } as Db['doc'] };
    // Then 40 at once, one failure in five: the rate stays far from 50 %. Each counter update
    // carries only a ceiling on failures that the others' failures never reach, so each report
    // lands with its first transaction. Conditioned on the exact failures (before), they took 151.
    const recorded = await Promise.all(grants.slice(20).map((record, i) => recordResults(counting, accountId, record, [{ serial: record.serials[0]!, status: i % 5 === 0 ? 'failure' : 'success' }])));
    expect(recorded.reduce((sum, r) => sum + r.recorded, 0)).toBe(40);
    expect(transactions).toBe(40);
    const after = await getJob(db, accountId, job.jobId);
    expect(after.counters).toMatchObject({ succeeded: 52, failed: 8 });
    expect(after.status).toBe('active');
  });
});
