import { type StoredChunk, chunkOf, rowOf } from '../domain/data-lists.js';
import { open } from '../domain/sealing.js';
import type { IndexRuns, UnitFieldDefinition } from '../domain/unit-data.js';
import type { AccountDataKeys } from './account-data-keys.js';
import { type Db, getItems } from './db.js';
import { keys } from './keys.js';

type ListField = Extract<UnitFieldDefinition, { kind: 'list' }>;

/** What sealed a chunk's secrets: a blob only opens under the chunk it was written for. */
export const chunkIdentity = (accountId: string, dataListId: string, uploadId: string, chunk: number) => `${accountId}/${dataListId}/${uploadId}/${chunk}`;

function* indexesOf(runs: IndexRuns): Generator<number> {
  for (const [first, count] of runs) for (let i = 0; i < count; i += 1) yield first + i;
}

/**
 * The rows of a data-list field in the order its draw gave them: one batch read of the chunks
 * they lie in (rows never change once a list is ready, so an eventually consistent read serves;
 * a chunk it does not see yet is read again strongly consistent) and, for a list with secret
 * columns, one AES-GCM open per chunk with the account's data key.
 */
async function readRows(db: Db, dataKeys: AccountDataKeys | undefined, accountId: string, field: ListField, runs: IndexRuns): Promise<string[][]> {
  const indexes = [...indexesOf(runs)];
  const chunkNumbers = [...new Set(indexes.map((index) => chunkOf(index).chunk))];
  const chunkKeys = chunkNumbers.map((chunk) => keys.dataListChunk(accountId, field.sourceId, field.uploadId, chunk));
  const items = await getItems(db, db.table, chunkKeys, false);
  const missing = chunkKeys.filter((_, i) => !items[i]);
  if (missing.length > 0) {
    const again = await getItems(db, db.table, missing, true);
    let m = 0;
    for (let i = 0; i < items.length; i += 1) if (!items[i]) items[i] = again[m++];
  }
  // Without the data keys only plain columns are read (traceability): secret ones come back empty.
  const secret = field.columns.some((column) => column.secret);
  const key = secret && dataKeys ? await dataKeys.keyFor(accountId) : undefined;
  const chunks = new Map<number, { plain: string[][]; hidden: string[][] }>();
  chunkNumbers.forEach((chunk, i) => {
    const item = items[i] as (StoredChunk & Record<string, unknown>) | undefined;
    if (!item) throw new Error(`data list ${field.sourceId} has no chunk ${chunk}`);
    const hidden = key && item.sealed ? (JSON.parse(open(key, chunkIdentity(accountId, field.sourceId, field.uploadId, chunk), item.sealed)) as string[][]) : [];
    chunks.set(chunk, { plain: item.plain, hidden });
  });
  return indexes.map((index) => {
    const { chunk, offset } = chunkOf(index);
    const stored = chunks.get(chunk)!;
    return rowOf(field.columns, stored.plain[offset] ?? [], stored.hidden[offset] ?? []);
  });
}

/**
 * Each field's rows (undefined for fields that are not data lists), for buildUnitData. Without
 * `dataKeys` (`plainOnly`) secret columns are never opened and come back as empty strings.
 */
export async function listRowsOf(
  db: Db,
  dataKeys: AccountDataKeys | 'plainOnly' | undefined,
  accountId: string,
  fields: readonly UnitFieldDefinition[],
  draws: readonly IndexRuns[],
): Promise<(string[][] | undefined)[]> {
  return Promise.all(
    fields.map((field, f) => {
      if (field.kind !== 'list') return undefined;
      if (!dataKeys) throw new Error('a data-list field needs the account data keys');
      return readRows(db, dataKeys === 'plainOnly' ? undefined : dataKeys, accountId, field, draws[f] ?? []);
    }),
  );
}
