import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { invalidCursor } from './cursors.js';
import { type Db, getItems } from './db.js';
import { SK_PREFIX, keys } from './keys.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor?: string;
}

type ToView<T> = (item: Record<string, unknown>) => T;

/**
 * With a filter, DynamoDB's `Limit` counts the items read, not the ones kept: a page filtered
 * after one read can come back short or empty with more to come. A filtered page is therefore
 * filled by reading on (100 items a read) until it holds `limit` items or this many were read:
 * enough for any account we know of to get full pages, and a bound on what one request costs.
 */
export const MAX_EXAMINED_PER_PAGE = 1000;
const FILTER_READ = 100;

/** The entity ids that follow a kind's prefix in a sort key (the contract's `Id`). */
const ENTITY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Which list a cursor belongs to: the partition it reads and the kind. A cursor signed for one
 * list is refused by every other (store/cursors.ts), and its position must name an entity of
 * that kind.
 */
function entityList(partition: string, prefix: string) {
  const list = `${partition}|${prefix}`;
  return {
    seal: (db: Db, position: string) => db.cursors.seal(list, position),
    open: async (db: Db, cursor: string | undefined) => {
      const position = await db.cursors.open(list, cursor);
      if (position !== undefined && !(position.startsWith(prefix) && ENTITY_ID.test(position.slice(prefix.length)))) throw invalidCursor();
      return position;
    },
  };
}

type EntityList = ReturnType<typeof entityList>;

/**
 * One page of an account's entities of one kind (a sort-key prefix), in id order. `listedAs`
 * names the list its cursors belong to when it is not the account's own (a factory's list read
 * from the account partition).
 */
export async function accountPage<T>(
  db: Db,
  accountId: string,
  prefix: string,
  page: PageRequest,
  toView: ToView<T>,
  keep?: (view: T) => boolean,
  listedAs = keys.accountPartition(accountId),
): Promise<Page<T>> {
  const pk = keys.accountPartition(accountId);
  const input = { TableName: db.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix } };
  const list = entityList(listedAs, prefix);
  return filledPage(db, list, input, 'sk', (sk) => ({ pk, sk }), await list.open(db, page.cursor), page.limit, toView, keep);
}

/** A factory index: `gsi1` projects whole items (programmers), `gsi2` only keys (jobs, whose items change all the time). */
export type FactoryIndex = 'gsi1' | 'gsi2';

/** Which index lists a factory's entities of a kind. */
export function factoryIndexOf(prefix: string): FactoryIndex {
  return prefix === SK_PREFIX.job ? 'gsi2' : 'gsi1';
}

/**
 * One page of a factory's entities of one kind, through its factory index. Entities indexed
 * there use their own sort key as index sort key, so a cursor rebuilds the full start key. From
 * a keys-only index the items themselves are read in one batch per page read.
 */
export async function factoryPage<T>(
  db: Db,
  accountId: string,
  factoryId: string,
  prefix: string,
  page: PageRequest,
  toView: ToView<T>,
  keep?: (view: T) => boolean,
): Promise<Page<T>> {
  const index = factoryIndexOf(prefix);
  const indexPk = keys.factoryIndex(accountId, factoryId);
  const input = {
    TableName: db.table,
    IndexName: index,
    KeyConditionExpression: '#ipk = :pk AND begins_with(#isk, :prefix)',
    ExpressionAttributeNames: { '#ipk': `${index}pk`, '#isk': `${index}sk` },
    ExpressionAttributeValues: { ':pk': indexPk, ':prefix': prefix },
  };
  const startKey = (sk: string) => ({ [`${index}pk`]: indexPk, [`${index}sk`]: sk, pk: keys.accountPartition(accountId), sk });
  const hydrate = index === 'gsi2' ? (rows: Record<string, unknown>[]) => itemsOf(db, rows) : undefined;
  const list = entityList(indexPk, prefix);
  return filledPage(db, list, input, `${index}sk`, startKey, await list.open(db, page.cursor), page.limit, toView, keep, hydrate);
}

/** The items behind keys-only index rows, in their order; one deleted meanwhile is left out. */
export async function itemsOf(db: Db, rows: Record<string, unknown>[]): Promise<(Record<string, unknown> | undefined)[]> {
  return getItems(db, db.table, rows.map((row) => ({ pk: row.pk as string, sk: row.sk as string })), false);
}

/**
 * Reads from `start` (exclusive) until `limit` items pass `keep` (everything passes without
 * it), the partition ends, or MAX_EXAMINED_PER_PAGE items were read. The cursor is the key of
 * the last item *examined*, kept or not, so the next page goes on exactly where this one stopped.
 */
async function filledPage<T>(
  db: Db,
  list: EntityList,
  input: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'>,
  sortField: 'sk' | `${FactoryIndex}sk`,
  startKey: (sortValue: string) => Record<string, unknown>,
  start: string | undefined,
  limit: number,
  toView: ToView<T>,
  keep?: (view: T) => boolean,
  hydrate?: (rows: Record<string, unknown>[]) => Promise<(Record<string, unknown> | undefined)[]>,
): Promise<Page<T>> {
  const items: T[] = [];
  let position = start;
  let examined = 0;
  for (;;) {
    const readSize = keep ? Math.min(FILTER_READ, MAX_EXAMINED_PER_PAGE - examined) : limit;
    const output = await db.doc.send(new QueryCommand({ ...input, Limit: readSize, ...(position && { ExclusiveStartKey: startKey(position) }) }));
    const read = output.Items ?? [];
    const full = hydrate ? await hydrate(read) : read;
    for (const [index, row] of read.entries()) {
      examined += 1;
      position = row[sortField] as string;
      const raw = full[index];
      if (!raw) continue;
      const view = toView(raw);
      if (keep && !keep(view)) continue;
      items.push(view);
      if (items.length === limit) {
        const more = index < read.length - 1 || output.LastEvaluatedKey !== undefined;
        return { items, nextCursor: more ? await list.seal(db, position) : null };
      }
    }
    if (!output.LastEvaluatedKey) return { items, nextCursor: null };
    // Over budget (or a 1 MB read that stopped early without a filter): a short page that says where to go on.
    position = output.LastEvaluatedKey[sortField] as string;
    if (!keep || examined >= MAX_EXAMINED_PER_PAGE) return { items, nextCursor: await list.seal(db, position) };
  }
}
