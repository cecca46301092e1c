import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError, ThrottledError, ValidationError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { type AllocatedRange, MAC_ADDRESS_SPACE, overlappingRange } from '../domain/mac-blocks.js';
import { formatMac, parseMac } from '../domain/unit-data.js';
import { auditItem } from './audit.js';
import { type Db, cancelledConditions } from './db.js';
import { withFaultRetry } from './faults.js';
import { SK_PREFIX, keys } from './keys.js';
import { type Page, type PageRequest, accountPage } from './pages.js';

export interface MacBlockView {
  macBlockId: string;
  name: string;
  first: string;
  last: string;
  count: number;
  issued: number;
  remaining: number;
  createdAt: string;
  updatedAt: string;
}

function toMacBlockView(item: Record<string, unknown>): MacBlockView {
  const first = Number(item.first);
  const count = Number(item.capacity);
  const issued = Number(item.issued ?? 0);
  return {
    macBlockId: item.macBlockId as string,
    name: item.name as string,
    first: formatMac(first),
    last: formatMac(first + count - 1),
    count,
    issued,
    remaining: Math.max(0, count - issued),
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}

const MAX_REGISTRY_PASSES = 8;

/**
 * A new block, never overlapping another block of the account: every block's range is kept,
 * sorted, in one registry item under a version, and the block is written in one transaction
 * with the registry conditioned on the version it was checked against. Two admins creating
 * overlapping blocks at once: one commits, the other reads again and is refused.
 */
export async function createMacBlock(db: Db, accountId: string, input: { name: string; first: string; count: number }, actor: string): Promise<MacBlockView> {
  const first = parseMac(input.first);
  if (first === undefined) throw new ValidationError([{ path: 'first', message: 'must be an EUI-48 address, e.g. 00:1B:C5:00:00:00' }]);
  if (first + input.count > MAC_ADDRESS_SPACE) throw new ValidationError([{ path: 'count', message: `runs past FF:FF:FF:FF:FF:FF (at most ${MAC_ADDRESS_SPACE - first} from ${formatMac(first)})` }]);
  for (let pass = 1; pass <= MAX_REGISTRY_PASSES; pass += 1) {
    const { Item: registry } = await withFaultRetry(() => db.doc.send(new GetCommand({ TableName: db.table, Key: keys.macRegistry(accountId), ConsistentRead: true })));
    const ranges = (registry?.ranges as AllocatedRange[] | undefined) ?? [];
    const version = Number(registry?.version ?? 0);
    const clash = overlappingRange(ranges, first, input.count);
    if (clash) {
      throw new ConflictError('mac_block_overlap', `Addresses ${formatMac(first)} … ${formatMac(first + input.count - 1)} overlap MAC block ${clash[2]}`, { macBlockId: clash[2] });
    }
    const at = new Date().toISOString();
    const macBlockId = newId('mac');
    const next: AllocatedRange[] = [...ranges, [first, first + input.count - 1, macBlockId] as AllocatedRange].sort((a, b) => a[0] - b[0]);
    const item = { ...keys.macBlock(accountId, macBlockId), type: 'macBlock', macBlockId, name: input.name, first, capacity: input.count, issued: 0, createdAt: at, updatedAt: at };
    try {
      await withFaultRetry(() =>
        db.doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: db.table,
                  Item: { ...keys.macRegistry(accountId), type: 'macRegistry', ranges: next, version: version + 1 },
                  ...(registry ? { ConditionExpression: 'version = :read', ExpressionAttributeValues: { ':read': version } } : { ConditionExpression: 'attribute_not_exists(pk)' }),
                },
              },
              { Put: { TableName: db.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
              auditItem(db, { accountId, actor, action: 'mac_block.create', targetType: 'macBlock', targetId: macBlockId, details: { name: input.name, first: formatMac(first), count: input.count } }, at),
            ],
          }),
        ),
      );
      return toMacBlockView(item);
    } catch (error) {
      if (!cancelledConditions(error)?.[0]) throw error;
      // Another block was registered since we read: check against the registry as it is now.
    }
  }
  throw new ThrottledError(1, 'MAC blocks kept being created concurrently; retry');
}

export async function getMacBlock(db: Db, accountId: string, macBlockId: string): Promise<MacBlockView> {
  const { Item } = await withFaultRetry(() => db.doc.send(new GetCommand({ TableName: db.table, Key: keys.macBlock(accountId, macBlockId) })));
  if (!Item) throw new NotFoundError('MAC block');
  return toMacBlockView(Item);
}

export function listMacBlocks(db: Db, accountId: string, page: PageRequest): Promise<Page<MacBlockView>> {
  return accountPage(db, accountId, SK_PREFIX.macBlock, page, toMacBlockView);
}
