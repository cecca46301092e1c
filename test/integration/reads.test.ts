import { randomUUID } from 'node:crypto';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { createAccount } from '../../shared/store/accounts.js';
import { createDocumentClient, createKmsClient, createS3Client } from '../../shared/store/clients.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import { registerImage } from '../../shared/store/images.js';
import { listActiveFactoryJobs, listJobs, transitionJob } from '../../shared/store/jobs.js';
import { keys } from '../../shared/store/keys.js';
import { LOG_SHARDS, appendLogLines, listLogLines } from '../../shared/store/logs.js';
import { migrateToV11 } from '../../shared/store/migrations.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';

/** Reads that scale: the factory index holds live jobs only, log lines spread over shards, old layouts still read. */
describe('reads that scale, on the emulator', () => {
  let db: Db;
  let accountId: string;
  let factoryId: string;
  let newJob: (name: string) => Promise<string>;

  /** What the factory index holds for this factory: the rows a programmer's job list reads. */
  const indexed = async () => {
    const output = await db.doc.send(
      new QueryCommand({ TableName: db.table, IndexName: 'gsi2', KeyConditionExpression: 'gsi2pk = :pk', ExpressionAttributeValues: { ':pk': keys.factoryIndex(accountId, factoryId) } }),
    );
    return (output.Items ?? []).map((row) => (row.sk as string).slice('JOB#'.length)).sort();
  };

  beforeAll(async () => {
    Object.assign(process.env, EMULATOR_AWS_ENV);
    db = { doc: createDocumentClient(), table: inject('tableName'), events: inject('eventsTableName'), cursors: ephemeralCursorCodec() };
    const signer = new KmsJwsSigner(createKmsClient(), inject('signingKeyId'));
    const objects = new ImageObjects(createS3Client(), inject('imagesBucketName'));
    ({ account: { accountId, defaultFactoryId: factoryId } } = await createAccount(db, `Reads ${randomUUID()}`));
    newJob = async (name) =>
      (await registerImage({ db, signer, objects }, accountId, { name, factoryId, contentSha256: 'f'.repeat(64), sizeBytes: 10, delivery: 'direct' }, 'test')).job.jobId;
  });

  it('takes a deleted job out of the factory index in the deleting write; the account still lists it as deleted, by factory too', async () => {
    const kept = await newJob('Kept');
    const paused = await newJob('Paused');
    const deleted = await newJob('Deleted');
    await transitionJob(db, accountId, paused, 'pause', 'test');
    await transitionJob(db, accountId, deleted, 'delete', 'test');

    expect(await indexed()).toEqual([kept, paused].sort());
    expect((await listActiveFactoryJobs(db, accountId, { factoryId })).map((job) => job.jobId)).toEqual([kept]);
    expect((await listJobs(db, accountId, { limit: 10, factoryId })).items.map((job) => job.jobId).sort()).toEqual([kept, paused].sort());
    expect((await listJobs(db, accountId, { limit: 10, factoryId, status: 'deleted' })).items.map((job) => job.jobId)).toEqual([deleted]);
    expect((await listJobs(db, accountId, { limit: 10, status: 'deleted' })).items.map((job) => job.jobId)).toEqual([deleted]);

    // A factory's deleted jobs page with the factory list's own cursors, one at a time.
    const two = await newJob('Deleted too');
    await transitionJob(db, accountId, two, 'delete', 'test');
    const first = await listJobs(db, accountId, { limit: 1, factoryId, status: 'deleted' });
    const second = await listJobs(db, accountId, { limit: 1, factoryId, status: 'deleted', cursor: first.nextCursor! });
    expect([...first.items, ...second.items].map((job) => job.jobId)).toEqual([deleted, two].sort());
    await expect(listJobs(db, accountId, { limit: 1, status: 'deleted', cursor: first.nextCursor! })).rejects.toMatchObject({ status: 400 });
  });

  it('npm run admin -- migrate takes jobs deleted before this layout out of the factory index, idempotently', async () => {
    const old = await newJob('Deleted long ago');
    const v1 = await newJob('Deleted in v1');
    await transitionJob(db, accountId, old, 'delete', 'test');
    await transitionJob(db, accountId, v1, 'delete', 'test');
    // As deleting left them before: still in the keys-only index, or (v1) in the all-attribute one.
    await db.doc.send(
      new UpdateCommand({ TableName: db.table, Key: keys.job(accountId, old), UpdateExpression: 'SET gsi2pk = :pk, gsi2sk = :sk', ExpressionAttributeValues: { ':pk': keys.factoryIndex(accountId, factoryId), ':sk': keys.jobIndexSk(old) } }),
    );
    await db.doc.send(
      new UpdateCommand({ TableName: db.table, Key: keys.job(accountId, v1), UpdateExpression: 'SET gsi1pk = :pk, gsi1sk = :sk', ExpressionAttributeValues: { ':pk': keys.factoryIndex(accountId, factoryId), ':sk': keys.jobIndexSk(v1) } }),
    );
    expect(await indexed()).toContain(old);

    const first = await migrateToV11(db);
    expect(first.deletedJobsUnindexed).toBeGreaterThanOrEqual(2);
    expect(await indexed()).not.toContain(old);
    expect((await listJobs(db, accountId, { limit: 20, factoryId, status: 'deleted' })).items.map((job) => job.jobId)).toEqual(expect.arrayContaining([old, v1]));

    const second = await migrateToV11(db);
    expect(second).toMatchObject({ jobsIndexed: 0, deletedJobsUnindexed: 0 });
  });

  it(`spreads a job's log over ${LOG_SHARDS} shards and reads them merged with lines stored before sharding, in arrival order, each once`, async () => {
    const jobId = await newJob('Logged');
    // Lines as the single partition held them: arrival-ordered keys, and older ones keyed by device time.
    const legacy = ['2026-01-01T00:00:00.000Z#0a1b2c3d4e5f', '2026-01-02T00:00:00.000Z#aaaaaaaaaa#000000001'];
    for (const [i, sk] of legacy.entries()) {
      await db.doc.send(
        new PutCommand({
          TableName: db.events,
          Item: { pk: keys.jobLogsPartition(accountId, jobId), sk, type: 'log', at: sk.slice(0, 24), level: 'info', message: `legacy ${i}`, programmerId: 'prg_old', expiresAt: 1_900_000_000 },
        }),
      );
    }
    const lines = Array.from({ length: 450 }, (_, i) => ({ at: new Date(Date.UTC(2026, 0, 3, 0, 0, i)).toISOString(), level: 'info' as const, message: `line ${i}` }));
    for (let i = 0; i < lines.length; i += 150) await appendLogLines(db, accountId, jobId, { programmerId: 'prg_1' }, lines.slice(i, i + 150));
    // A retried request is stored once, in the shard it went to the first time.
    await appendLogLines(db, accountId, jobId, { programmerId: 'prg_1' }, lines.slice(0, 150));

    const shardsUsed = [];
    for (let shard = 0; shard < LOG_SHARDS; shard += 1) {
      const output = await db.doc.send(new QueryCommand({ TableName: db.events, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': keys.jobLogsShard(accountId, jobId, shard) }, Select: 'COUNT' }));
      if ((output.Count ?? 0) > 0) shardsUsed.push(shard);
    }
    expect(shardsUsed.length).toBeGreaterThan(1);

    const read: string[] = [];
    const sequences: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages += 1) {
      const page = await listLogLines(db, accountId, jobId, { limit: 37, ...(cursor && { cursor }) }, Date.now() + 10_000);
      read.push(...page.items.map((line) => line.message));
      sequences.push(...page.items.map((line) => line.sequence));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(read).toEqual(['legacy 0', 'legacy 1', ...lines.map((line) => line.message)]);
    expect(sequences).toEqual([...sequences].sort());
    await expect(listLogLines(db, accountId, await newJob('Other'), { limit: 5, cursor })).rejects.toMatchObject({ status: 400 });
  });
});
