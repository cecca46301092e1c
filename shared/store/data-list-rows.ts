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
 * Stored chunks this container has read, as stored (secret columns still sealed). A chunk never
 * changes once written (a list is filled once, under one upload id), so a copy never goes stale;
 * units drawn one after another mostly fall in the chunk the previous unit did (100 rows each),
 * and the cache spares the emulator, or DynamoDB, one batch read per authorization.
 */
class StoredChunkCache {
  private readonly chunks = new Map<string, StoredChunk & Record<string, unknown>>();
  constructor(private readonly capacity: number) {}

  get(key: string) {
    const chunk = this.chunks.get(key);
    if (chunk) {
      // Most recently used last: the first entry is the one to evict.
      this.chunks.delete(key);
      this.chunks.set(key, chunk);
    }
    return chunk;
  }

  set(key: string, chunk: StoredChunk & Record<string, unknown>): void {
    this.chunks.set(key, chunk);
    if (this.chunks.size > this.capacity) this.chunks.delete(this.chunks.keys().next().value as string);
  }
}

/** 64 chunks of at most 100 rows: a few MB at the longest column lengths. */
const storedChunks = new StoredChunkCache(64);

/** The stored chunks, from this container's cache or one batch read (eventually consistent, then strongly for any not seen yet). */
async function readChunks(db: Db, accountId: string, field: ListField, chunkNumbers: readonly number[]): Promise<((StoredChunk & Record<string, unknown>) | undefined)[]> {
  const identities = chunkNumbers.map((chunk) => chunkIdentity(accountId, field.sourceId, field.uploadId, chunk));
  const items = identities.map((identity) => storedChunks.get(identity));
  const unread = chunkNumbers.flatMap((chunk, i) => (items[i] ? [] : [{ i, key: keys.dataListChunk(accountId, field.sourceId, field.uploadId, chunk) }]));
  if (unread.length === 0) return items;
  const read = await getItems(db, db.table, unread.map((entry) => entry.key), false);
  const missing = unread.filter((_, u) => !read[u]);
  const again = missing.length > 0 ? await getItems(db, db.table, missing.map((entry) => entry.key), true) : [];
  unread.forEach((entry, u) => {
    const item = (read[u] ?? again[missing.indexOf(entry)]) as (StoredChunk & Record<string, unknown>) | undefined;
    if (!item) return;
    items[entry.i] = item;
    storedChunks.set(identities[entry.i]!, item);
  });
  return items;
}

/**
 * The rows of a data-list field in the order its draw gave them: the chunks they lie in (rows
 * never change once a list is ready: cached per container, see StoredChunkCache) and, for a list
 * with secret columns, one AES-GCM open per chunk with the account's data key.
 */
async function readRows(db: Db, dataKeys: AccountDataKeys | undefined, accountId: string, field: ListField, runs: IndexRuns): Promise<string[][]> {
  const indexes = [...indexesOf(runs)];
  const chunkNumbers = [...new Set(indexes.map((index) => chunkOf(index).chunk))];
  const items = await readChunks(db, accountId, field, chunkNumbers);
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
