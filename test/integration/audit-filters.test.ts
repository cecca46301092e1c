import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { FEED_SETTLE_SECONDS } from '../../shared/domain/feed.js';
import { createAccount } from '../../shared/store/accounts.js';
import { MAX_PAGES_PER_FILTERED_READ, listAudit } from '../../shared/store/audit.js';
import { createDocumentClient, createKmsClient, createS3Client } from '../../shared/store/clients.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import { registerImage } from '../../shared/store/images.js';
import { transitionJob } from '../../shared/store/jobs.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';

/**
 * `GET /v1/audit?actor=&action=&target=`: the store filters the whole trail, a page at a time,
 * with the cursors of the unfiltered trail, newest first and oldest first from `since`.
 */
describe('audit filters, on the emulator', () => {
  let db: Db;
  let accountId: string;
  let startedAt: string;
  const pausedJobs: string[] = [];
  const otherJobs: string[] = [];

  /** Every page of one query, following nextCursor to the end. */
  const allPages = async (query: Parameters<typeof listAudit>[2]) => {
    const pages = [];
    let cursor = query.cursor;
    do {
      const page = await listAudit(db, accountId, { ...query, cursor });
      pages.push(page);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return pages;
  };

  beforeAll(async () => {
    Object.assign(process.env, EMULATOR_AWS_ENV);
    db = { doc: createDocumentClient(), table: inject('tableName'), events: inject('eventsTableName'), cursors: ephemeralCursorCodec() };
    const signer = new KmsJwsSigner(createKmsClient(), inject('signingKeyId'));
    const objects = new ImageObjects(createS3Client(), inject('imagesBucketName'));
    startedAt = new Date(Date.now() - 1000).toISOString();
    const { account } = await createAccount(db, `Audit filters ${randomUUID()}`);
    accountId = account.accountId;
    // 1 account.create, then 12 image.register, of which 3 jobs are paused: 16 records.
    for (let i = 0; i < 12; i += 1) {
      const { job } = await registerImage({ db, signer, objects }, accountId, { name: `Image ${i}`, factoryId: account.defaultFactoryId, contentSha256: 'e'.repeat(64), sizeBytes: 10, delivery: 'direct' }, `key:key_${i % 2 === 0 ? 'even' : 'odd'}`);
      (i % 4 === 1 ? pausedJobs : otherJobs).push(job.jobId);
    }
    for (const jobId of pausedJobs) await transitionJob(db, accountId, jobId, 'pause', 'person:per_auditor');
  }, 120_000);

  it('pages newest first through the matches only, each once, with fewer than limit on a page when the trail has no more', async () => {
    const pages = await allPages({ limit: 2, action: 'job.pause' });
    const records = pages.flatMap((page) => page.items);
    expect(records.map((record) => record.action)).toEqual(['job.pause', 'job.pause', 'job.pause']);
    expect(records.map((record) => record.target.id)).toEqual([...pausedJobs].reverse());
    expect(pages.every((page) => page.items.length <= 2)).toBe(true);
    // Actor and target narrow together: one paused job by its id, any case of the text.
    const one = await listAudit(db, accountId, { limit: 50, actor: 'PERSON:PER_', target: pausedJobs[1]!.toUpperCase() });
    expect(one.items.map((record) => [record.action, record.target.id])).toEqual([['job.pause', pausedJobs[1]]]);
    expect(one.nextCursor).toBeNull();
    // A filter nothing matches reads the whole (short) trail and says it ended.
    expect(await listAudit(db, accountId, { limit: 50, actor: 'programmer:' })).toMatchObject({ items: [], nextCursor: null });
  });

  it('answers a sparse filter after reading at most its window, with a cursor that searches further back', async () => {
    // limit 1: one request reads at most MAX_PAGES_PER_FILTERED_READ records; the account's
    // creation lies further back than that, behind 15 newer records.
    expect(MAX_PAGES_PER_FILTERED_READ).toBeLessThan(15);
    const first = await listAudit(db, accountId, { limit: 1, action: 'account.create' });
    expect(first.items).toEqual([]);
    expect(first.nextCursor).not.toBeNull();
    const rest = await allPages({ limit: 1, action: 'account.create', cursor: first.nextCursor! });
    expect(rest.flatMap((page) => page.items).map((record) => record.target.id)).toEqual([accountId]);
  });

  it('filters the oldest-first feed from `since` the same way, and its followCursor follows what arrives after', async () => {
    await new Promise((resolve) => setTimeout(resolve, (FEED_SETTLE_SECONDS + 1) * 1000));
    const pages = await allPages({ limit: 2, since: startedAt, actor: 'key:key_odd' });
    const records = pages.flatMap((page) => page.items);
    expect(records.map((record) => record.action)).toEqual(Array(6).fill('image.register'));
    expect(records.every((record) => record.actor === 'key:key_odd')).toBe(true);
    const followCursor = pages.at(-1)!.followCursor!;
    expect(followCursor).toEqual(expect.any(String));
    await transitionJob(db, accountId, otherJobs[0]!, 'pause', 'key:key_odd');
    await new Promise((resolve) => setTimeout(resolve, (FEED_SETTLE_SECONDS + 1) * 1000));
    const followed = await allPages({ limit: 2, cursor: followCursor, actor: 'key:key_odd' });
    expect(followed.flatMap((page) => page.items).map((record) => [record.action, record.target.id])).toEqual([['job.pause', otherJobs[0]]]);
  });

  it('without a filter, answers one page of the trail as before', async () => {
    const page = await listAudit(db, accountId, { limit: 5 });
    expect(page.items).toHaveLength(5);
    expect(page.nextCursor).not.toBeNull();
  });
});
