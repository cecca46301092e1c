import { GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type DataListColumn, MAX_COLUMN_LENGTH, RowParseError, type RowIssue, type UploadFormat, parseRows, toChunks } from '../domain/data-lists.js';
import { seal } from '../domain/sealing.js';
import { ConflictError, NotFoundError, StateConflictError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { IndexRuns } from '../domain/unit-data.js';
import { type AccountDataKeys, dataKeyContext } from './account-data-keys.js';
import { auditItem } from './audit.js';
import { chunkIdentity } from './data-list-rows.js';
import { type Db, isConditionFailure } from './db.js';
import { withFaultRetry } from './faults.js';
import { SK_PREFIX, keys } from './keys.js';
import { type Page, type PageRequest, accountPage } from './pages.js';

/**
 * `empty`: created, no rows yet; `pending_upload`: a presigned upload was handed out and its
 * object is awaited; `ready`: rows stored, jobs may name it; `rejected`: the last upload was
 * refused (see `rejection`), nothing of it was stored, and a new upload may follow.
 */
export type DataListStatus = 'empty' | 'pending_upload' | 'ready' | 'rejected';

export interface DataListView {
  dataListId: string;
  name: string;
  columns: DataListColumn[];
  status: DataListStatus;
  /** Rows stored (0 until ready). */
  total: number;
  /** Rows handed out fresh; each exactly once. */
  issued: number;
  /** Rows of failed units given back (onFailure return) and waiting to be handed out again. */
  returned: number;
  /** Rows still to be handed out: never issued, plus returned ones. */
  remaining: number;
  rejection: RowIssue | null;
  createdAt: string;
  updatedAt: string;
}

export interface CreateDataListInput {
  name: string;
  columns: { name: string; secret?: boolean; maxLength?: number }[];
}

/** A list as the store reads it: its view plus what upload processing needs. */
interface DataListRecord extends DataListView {
  uploadId?: string;
  uploadFormat?: UploadFormat;
  uploadSha256?: string;
  uploadSizeBytes?: number;
}

function toRecord(item: Record<string, unknown>, returned = 0): DataListRecord {
  const total = Number(item.total ?? 0);
  const issued = Number(item.issued ?? 0);
  return {
    dataListId: item.dataListId as string,
    name: item.name as string,
    columns: item.columns as DataListColumn[],
    status: item.status as DataListStatus,
    total,
    issued,
    returned,
    remaining: Math.max(0, total - issued) + returned,
    rejection: (item.rejection as RowIssue | undefined) ?? null,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    uploadId: item.uploadId as string | undefined,
    uploadFormat: item.uploadFormat as UploadFormat | undefined,
    uploadSha256: item.uploadSha256 as string | undefined,
    uploadSizeBytes: item.uploadSizeBytes === undefined ? undefined : Number(item.uploadSizeBytes),
  };
}

/** The public view: never a row value, never upload internals. */
function toView(record: DataListRecord): DataListView {
  const { uploadId: _u, uploadFormat: _f, uploadSha256: _s, uploadSizeBytes: _b, ...view } = record;
  return view;
}

/** Rows waiting in the list's returns (a Query of small items; a bound keeps one read bounded). */
async function returnedRows(db: Db, accountId: string, dataListId: string): Promise<number> {
  const { Items = [] } = await withFaultRetry(() =>
    db.doc.send(new QueryCommand({ TableName: db.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': keys.returnedValuesPartition(accountId, dataListId) }, Limit: 1000 })),
  );
  return Items.reduce((sum, item) => sum + (item.runs as IndexRuns).reduce((s, [, count]) => s + count, 0), 0);
}

/**
 * Creates the account's data key with its first data list: KMS GenerateDataKey under the
 * deployment's data key, stored encrypted (only once: a concurrent creator's key wins and ours
 * is dropped unused). The plaintext goes into this container's cache, never into storage.
 */
export async function ensureAccountDataKey(db: Db, kms: KMSClient, deploymentDataKeyId: string, dataKeys: AccountDataKeys, accountId: string): Promise<void> {
  const { Item } = await withFaultRetry(() => db.doc.send(new GetCommand({ TableName: db.table, Key: keys.accountDataKey(accountId), ConsistentRead: true })));
  if (Item) return;
  const { CiphertextBlob, Plaintext } = await kms.send(new GenerateDataKeyCommand({ KeyId: deploymentDataKeyId, KeySpec: 'AES_256', EncryptionContext: dataKeyContext(accountId) }));
  if (!CiphertextBlob || !Plaintext) throw new Error('KMS returned no data key');
  try {
    await withFaultRetry(() =>
      db.doc.send(
        new PutCommand({
          TableName: db.table,
          Item: { ...keys.accountDataKey(accountId), type: 'accountDataKey', encryptedKey: CiphertextBlob, createdAt: new Date().toISOString() },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    dataKeys.remember(accountId, Plaintext);
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

export interface DataListDeps {
  db: Db;
  kms: KMSClient;
  dataKeyId: string;
  dataKeys: AccountDataKeys;
}

export async function createDataList({ db, kms, dataKeyId, dataKeys }: DataListDeps, accountId: string, input: CreateDataListInput, actor: string): Promise<DataListView> {
  const columns: DataListColumn[] = input.columns.map((column) => ({ name: column.name, secret: column.secret ?? false, maxLength: column.maxLength ?? MAX_COLUMN_LENGTH }));
  if (columns.some((column) => column.secret)) await ensureAccountDataKey(db, kms, dataKeyId, dataKeys, accountId);
  const at = new Date().toISOString();
  const dataListId = newId('list');
  const item = { ...keys.dataList(accountId, dataListId), type: 'dataList', dataListId, name: input.name, columns, status: 'empty', total: 0, issued: 0, createdAt: at, updatedAt: at };
  await withFaultRetry(() =>
    db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: db.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
          auditItem(db, { accountId, actor, action: 'data_list.create', targetType: 'dataList', targetId: dataListId, details: { name: input.name, columns } }, at),
        ],
      }),
    ),
  );
  return toView(toRecord(item));
}

async function readDataList(db: Db, accountId: string, dataListId: string): Promise<DataListRecord> {
  const { Item } = await withFaultRetry(() => db.doc.send(new GetCommand({ TableName: db.table, Key: keys.dataList(accountId, dataListId), ConsistentRead: true })));
  if (!Item) throw new NotFoundError('Data list');
  return toRecord(Item);
}

export async function getDataList(db: Db, accountId: string, dataListId: string): Promise<DataListView> {
  const record = await readDataList(db, accountId, dataListId);
  return toView({ ...toRecord(record as unknown as Record<string, unknown>, await returnedRows(db, accountId, dataListId)) });
}

export async function listDataLists(db: Db, accountId: string, page: PageRequest): Promise<Page<DataListView>> {
  const listed = await accountPage(db, accountId, SK_PREFIX.dataList, page, (item) => toRecord(item));
  const items = await Promise.all(listed.items.map(async (record) => toView(toRecord(record as unknown as Record<string, unknown>, await returnedRows(db, accountId, record.dataListId)))));
  return { ...listed, items };
}

const notAgain = () => new ConflictError('invalid_transition', 'This data list has its rows already: a list is filled once; create another list for more rows');

/** Chunks written at once: enough to keep a large upload moving, few enough not to throttle the table. */
const WRITE_CONCURRENCY = 16;

/**
 * Stores an upload's rows under a fresh upload id, all of them before the list is switched to
 * `ready` by one conditional update: until then no job can name the list, so a crash or a
 * refused row never leaves a partial list (stray chunks of an upload that never became ready
 * are unreachable). Two uploads racing: one wins the switch, the other is a 409.
 */
async function storeRows(deps: Pick<DataListDeps, 'db' | 'dataKeys'>, accountId: string, list: DataListRecord, uploadId: string, rows: string[][], expect: { pendingUpload?: string }): Promise<DataListRecord> {
  const { db } = deps;
  const key = list.columns.some((column) => column.secret) ? await deps.dataKeys.keyFor(accountId) : undefined;
  const chunks = toChunks(list.columns, rows, (chunk, plaintext) => seal(key!, chunkIdentity(accountId, list.dataListId, uploadId, chunk), plaintext));
  let next = 0;
  const writer = async () => {
    while (next < chunks.length) {
      const chunk = next++;
      const stored = chunks[chunk]!;
      await withFaultRetry(() =>
        db.doc.send(new PutCommand({ TableName: db.table, Item: { ...keys.dataListChunk(accountId, list.dataListId, uploadId, chunk), plain: stored.plain, ...(stored.sealed && { sealed: stored.sealed }) } })),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, chunks.length) }, writer));
  const at = new Date().toISOString();
  try {
    const { Attributes } = await withFaultRetry(() =>
      db.doc.send(
        new UpdateCommand({
          TableName: db.table,
          Key: keys.dataList(accountId, list.dataListId),
          UpdateExpression: 'SET #status = :ready, #total = :total, uploadId = :upload, updatedAt = :at REMOVE rejection, uploadSha256, uploadSizeBytes',
          ConditionExpression: expect.pendingUpload ? '#status = :pending AND uploadId = :upload' : '#status <> :ready',
          ExpressionAttributeNames: { '#status': 'status', '#total': 'total' },
          ExpressionAttributeValues: { ':ready': 'ready', ':total': rows.length, ':upload': uploadId, ':at': at, ...(expect.pendingUpload && { ':pending': 'pending_upload' }) },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return toRecord(Attributes!);
  } catch (error) {
    if (isConditionFailure(error)) throw notAgain();
    throw error;
  }
}

/**
 * Rows given in the request (≤ 1 MiB): a bad row is a 409 rows_rejected naming its line and
 * column, and nothing is stored. 409, not 400: whether rows are right depends on the list's
 * columns (the same content fills another list), so it is a conflict with this list's state.
 */
export async function uploadRowsInline(deps: Pick<DataListDeps, 'db' | 'dataKeys'>, accountId: string, dataListId: string, input: { format: UploadFormat; content: string }, actor: string): Promise<DataListView> {
  const list = await readDataList(deps.db, accountId, dataListId);
  if (list.status === 'ready') throw notAgain();
  let rows: string[][];
  try {
    rows = parseRows(list.columns, input.format, input.content);
  } catch (error) {
    if (error instanceof RowParseError) throw new StateConflictError('rows_rejected', `The rows were refused, none stored: ${error.message}`, [{ path: 'content', message: error.message }]);
    throw error;
  }
  const stored = await storeRows(deps, accountId, list, newId('upl'), rows, {});
  await auditRows(deps.db, accountId, dataListId, actor, { rows: rows.length, via: 'inline' });
  return toView(stored);
}

async function auditRows(db: Db, accountId: string, dataListId: string, actor: string, details: Record<string, unknown>): Promise<void> {
  const at = new Date().toISOString();
  await withFaultRetry(() => db.doc.send(new TransactWriteCommand({ TransactItems: [auditItem(db, { accountId, actor, action: 'data_list.rows', targetType: 'dataList', targetId: dataListId, details }, at)] })));
}

/**
 * Prepares a presigned upload: the list remembers the upload id, format and expected checksum
 * and size; the object's creation makes the upload processor store the rows (processUpload).
 * A newer upload supersedes one still pending.
 */
export async function beginUpload(db: Db, accountId: string, dataListId: string, input: { format: UploadFormat; sha256: string; sizeBytes: number }, actor: string): Promise<{ uploadId: string }> {
  const uploadId = newId('upl');
  try {
    await withFaultRetry(() =>
      db.doc.send(
        new UpdateCommand({
          TableName: db.table,
          Key: keys.dataList(accountId, dataListId),
          UpdateExpression: 'SET #status = :pending, uploadId = :upload, uploadFormat = :format, uploadSha256 = :sha, uploadSizeBytes = :size, updatedAt = :at REMOVE rejection',
          ConditionExpression: 'attribute_exists(pk) AND #status <> :ready',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending_upload', ':ready': 'ready', ':upload': uploadId, ':format': input.format, ':sha': input.sha256, ':size': input.sizeBytes, ':at': new Date().toISOString() },
        }),
      ),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    await readDataList(db, accountId, dataListId); // 404 when missing
    throw notAgain();
  }
  // The audit names the upload here: the processor that stores its rows writes no audit of its own.
  await auditRows(db, accountId, dataListId, actor, { via: 'upload', uploadId, format: input.format, sha256: input.sha256, sizeBytes: input.sizeBytes });
  return { uploadId };
}

export type ProcessOutcome = { outcome: 'ready'; rows: number } | { outcome: 'rejected'; rejection: RowIssue } | { outcome: 'superseded' };

/**
 * The upload processor (run by the upload-verifier function on the object's creation): the
 * object's real size and SHA-256 must be what was announced (S3 checks the signed checksum on
 * AWS; emulators do not, so it is computed here), then every row is parsed before any is
 * stored. A bad upload marks the list `rejected` with the line and column, and stores nothing.
 * Its outcome is the list's status (the upload itself was audited when its URL was handed out).
 */
export async function processUpload(
  deps: Pick<DataListDeps, 'db' | 'dataKeys'>,
  target: { accountId: string; dataListId: string; uploadId: string },
  object: { sizeBytes: number; sha256: string; text: string },
): Promise<ProcessOutcome> {
  const { db } = deps;
  const list = await readDataList(db, target.accountId, target.dataListId);
  if (list.status !== 'pending_upload' || list.uploadId !== target.uploadId) return { outcome: 'superseded' };
  let rejection: RowIssue | undefined;
  let rows: string[][] = [];
  if (object.sizeBytes !== list.uploadSizeBytes || object.sha256 !== list.uploadSha256) {
    rejection = { line: 0, message: `the uploaded object (${object.sizeBytes} bytes, SHA-256 ${object.sha256}) is not the announced one (${list.uploadSizeBytes} bytes, ${list.uploadSha256})` };
  } else {
    try {
      rows = parseRows(list.columns, list.uploadFormat ?? 'csv', object.text);
    } catch (error) {
      if (!(error instanceof RowParseError)) throw error;
      rejection = error.issue;
    }
  }
  if (rejection) {
    try {
      await db.doc.send(
        new UpdateCommand({
          TableName: db.table,
          Key: keys.dataList(target.accountId, target.dataListId),
          UpdateExpression: 'SET #status = :rejected, rejection = :rejection, updatedAt = :at',
          ConditionExpression: '#status = :pending AND uploadId = :upload',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':rejected': 'rejected', ':rejection': rejection, ':pending': 'pending_upload', ':upload': target.uploadId, ':at': new Date().toISOString() },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { outcome: 'superseded' };
    }
    return { outcome: 'rejected', rejection };
  }
  try {
    await storeRows(deps, target.accountId, list, target.uploadId, rows, { pendingUpload: target.uploadId });
  } catch (error) {
    if (error instanceof ConflictError) return { outcome: 'superseded' };
    throw error;
  }
  return { outcome: 'ready', rows: rows.length };
}
