import { createHash } from 'node:crypto';
import { PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ReportedSet, type ResultInput } from '../domain/reports.js';
import { type Db, getItems, isConditionFailure } from './db.js';
import { withFaultRetry } from './faults.js';
import { keys } from './keys.js';
import { encodeResultBatch } from './result-batches.js';

/**
 * Brings data written before v1.1 into the v1.1 layout, so nothing recorded before is lost from
 * the API: job items that are not deleted gain the keys-only factory index (`gsi2`) and deleted
 * ones leave it (it holds only jobs a programmer may still be shown), and results stored one
 * item per unit (`ACCT#…#AUTH#… / RES#{serial}`) become result batches in their job's feed, at
 * their original arrival time, with the authorizations' reported-unit bits. Log lines need no
 * move: the partition they were kept in before sharding is read as one more shard (logs.ts).
 * Idempotent: a second run changes nothing (batch keys are derived from what they hold, every
 * write is conditioned). Run it once per deployment after updating the stack:
 * `npm run admin -- migrate`.
 */
export interface MigrationReport {
  jobsIndexed: number;
  deletedJobsUnindexed: number;
  legacyResults: number;
  resultBatchesWritten: number;
  authorizationsMarked: number;
}

async function* scan(db: Db, table: string, filter: string, names: Record<string, string>, values: Record<string, unknown>): AsyncGenerator<Record<string, unknown>> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await withFaultRetry(() =>
      db.doc.send(
        new ScanCommand({ TableName: table, FilterExpression: filter, ExpressionAttributeNames: names, ExpressionAttributeValues: values, ExclusiveStartKey: startKey, ConsistentRead: true }),
      ),
    );
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** One conditioned update per scanned item; an item someone changed meanwhile (its condition fails) is left as it is. */
async function updateEach(db: Db, items: AsyncIterable<Record<string, unknown>>, update: { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> }): Promise<number> {
  let updated = 0;
  for await (const item of items) {
    try {
      await withFaultRetry(() => db.doc.send(new UpdateCommand({ TableName: db.table, Key: { pk: item.pk, sk: item.sk }, ...update })));
      updated += 1;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
  return updated;
}

const DELETED = { names: { '#type': 'type', '#status': 'status' }, values: { ':job': 'job', ':deleted': 'deleted' } };
const STATUS_VALUES = { ExpressionAttributeNames: { '#status': 'status' }, ExpressionAttributeValues: { ':deleted': 'deleted' } };

/** v1 jobs, in the all-attribute index: the live ones move to the keys-only one, deleted ones leave both. */
async function indexJobs(db: Db, report: MigrationReport): Promise<void> {
  const v1 = (filter: string) => scan(db, db.table, `#type = :job AND attribute_exists(gsi1pk) AND attribute_not_exists(gsi2pk) AND ${filter}`, DELETED.names, DELETED.values);
  const condition = 'attribute_exists(gsi1pk) AND attribute_not_exists(gsi2pk)';
  report.jobsIndexed += await updateEach(db, v1('#status <> :deleted'), {
    UpdateExpression: 'SET gsi2pk = gsi1pk, gsi2sk = gsi1sk REMOVE gsi1pk, gsi1sk',
    ConditionExpression: `${condition} AND #status <> :deleted`,
    ...STATUS_VALUES,
  });
  report.deletedJobsUnindexed += await updateEach(db, v1('#status = :deleted'), {
    UpdateExpression: 'REMOVE gsi1pk, gsi1sk',
    ConditionExpression: `${condition} AND #status = :deleted`,
    ...STATUS_VALUES,
  });
  // Jobs deleted before deleting took them out of the factory index.
  report.deletedJobsUnindexed += await updateEach(db, scan(db, db.table, '#type = :job AND attribute_exists(gsi2pk) AND #status = :deleted', DELETED.names, DELETED.values), {
    UpdateExpression: 'REMOVE gsi2pk, gsi2sk',
    ConditionExpression: 'attribute_exists(gsi2pk) AND #status = :deleted',
    ...STATUS_VALUES,
  });
}

interface LegacyReport {
  accountId: string;
  jobId: string;
  authorizationId: string;
  programmerId: string;
  run: number;
  reportedAt: string;
  expiresAt: number;
  results: ResultInput[];
}

/** A feed key at the report's original arrival time; writer and counter come from what it holds, so a rerun finds it. */
function migratedSequence(report: LegacyReport): string {
  const digest = createHash('sha256').update(`${report.authorizationId}\n${report.reportedAt}`).digest('hex');
  return `${report.reportedAt}#${digest.slice(0, 10)}#${String(Number.parseInt(digest.slice(10, 17), 16) % 1e9).padStart(9, '0')}`;
}

async function migrateResults(db: Db, report: MigrationReport): Promise<void> {
  const reports = new Map<string, LegacyReport>();
  for await (const item of scan(db, db.events, 'begins_with(sk, :legacy) AND #type = :result', { '#type': 'type' }, { ':legacy': 'RES#', ':result': 'result' })) {
    const accountId = /^ACCT#([^#]+)#AUTH#/.exec(item.pk as string)?.[1];
    if (!accountId) continue;
    report.legacyResults += 1;
    const key = `${accountId}\n${String(item.authorizationId)}\n${String(item.reportedAt)}`;
    const entry = reports.get(key) ?? {
      accountId,
      jobId: item.jobId as string,
      authorizationId: item.authorizationId as string,
      programmerId: item.programmerId as string,
      run: Number(item.run),
      reportedAt: item.reportedAt as string,
      expiresAt: Number(item.expiresAt),
      results: [],
    };
    entry.results.push({
      serial: item.serial as string,
      status: item.status as ResultInput['status'],
      ...(item.errorCode !== undefined && { errorCode: item.errorCode as string }),
      ...(item.durationMs !== undefined && { durationMs: Number(item.durationMs) }),
      ...(item.at !== undefined && { at: item.at as string }),
    });
    reports.set(key, entry);
  }

  const serialsByAuthorization = new Map<string, { accountId: string; authorizationId: string; serials: Set<string> }>();
  for (const legacy of reports.values()) {
    legacy.results.sort((a, b) => a.serial.localeCompare(b.serial));
    try {
      await withFaultRetry(() =>
        db.doc.send(
          new PutCommand({
            TableName: db.events,
            Item: {
              ...keys.resultBatch(legacy.accountId, legacy.jobId, migratedSequence(legacy)),
              authorizationId: legacy.authorizationId,
              programmerId: legacy.programmerId,
              run: legacy.run,
              count: legacy.results.length,
              results: encodeResultBatch(legacy.results, Date.parse(legacy.reportedAt)),
              expiresAt: legacy.expiresAt,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
      report.resultBatchesWritten += 1;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const key = `${legacy.accountId}\n${legacy.authorizationId}`;
    const entry = serialsByAuthorization.get(key) ?? { accountId: legacy.accountId, authorizationId: legacy.authorizationId, serials: new Set<string>() };
    for (const result of legacy.results) entry.serials.add(result.serial);
    serialsByAuthorization.set(key, entry);
  }

  for (const { accountId, authorizationId, serials } of serialsByAuthorization.values()) {
    const [authorization, reported] = await getItems(db, db.table, [keys.authorization(accountId, authorizationId), keys.reportedUnits(accountId, authorizationId)], true);
    const granted = (authorization?.serials as string[] | undefined) ?? [];
    const offsets = granted.flatMap((serial, offset) => (serials.has(serial) ? [offset] : []));
    const current = ReportedSet.fromBytes(granted.length, reported?.bits as Uint8Array | undefined);
    const next = current.with(offsets);
    const released = authorization?.state === 'released';
    if (reported && next.count === current.count && (reported.released === true) === released) continue;
    await withFaultRetry(() =>
      db.doc.send(
        new UpdateCommand({
          TableName: db.table,
          Key: keys.reportedUnits(accountId, authorizationId),
          UpdateExpression: released ? 'SET bits = :bits, released = :true' : 'SET bits = :bits',
          ConditionExpression: reported?.bits ? 'bits = :read' : 'attribute_not_exists(bits)',
          ExpressionAttributeValues: { ':bits': next.toBytes(), ...(released && { ':true': true }), ...(reported?.bits ? { ':read': reported.bits } : {}) },
        }),
      ),
    );
    report.authorizationsMarked += 1;
  }
}

export async function migrateToV11(db: Db): Promise<MigrationReport> {
  const report: MigrationReport = { jobsIndexed: 0, deletedJobsUnindexed: 0, legacyResults: 0, resultBatchesWritten: 0, authorizationsMarked: 0 };
  await indexJobs(db, report);
  await migrateResults(db, report);
  return report;
}
