import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { SerialFormatError, parseSerialFormat, poolCapacity } from '../domain/serial-format.js';
import { auditItem } from './audit.js';
import type { Db } from './db.js';
import { withFaultRetry } from './faults.js';
import { SK_PREFIX, keys } from './keys.js';
import { type Page, type PageRequest, accountPage } from './pages.js';

export interface SerialPoolView {
  serialPoolId: string;
  name: string;
  format: string;
  start: number;
  step: number;
  /** How many values the pool hands out in all. */
  capacity: number;
  issued: number;
  remaining: number;
  createdAt: string;
  updatedAt: string;
}

export interface CreateSerialPoolInput {
  name: string;
  format: string;
  start?: number;
  step?: number;
}

function toSerialPoolView(item: Record<string, unknown>): SerialPoolView {
  const capacity = Number(item.capacity);
  const issued = Number(item.issued ?? 0);
  return {
    serialPoolId: item.serialPoolId as string,
    name: item.name as string,
    format: item.format as string,
    start: Number(item.start),
    step: Number(item.step),
    capacity,
    issued,
    remaining: Math.max(0, capacity - issued),
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}

/**
 * The format checked and its capacity computed before anything is written: a bad format is a 400
 * naming `format`. A start at or past the last value the format can write is no error but a pool
 * with nothing to give (capacity 0: a job drawing from it gets 409 serials_exhausted), as a pool
 * used up is: whether `start` fits depends on `format`, which no schema can compare, and a
 * schema-valid body is not refused.
 */
export function checkedPoolSettings(input: CreateSerialPoolInput): { start: number; step: number; capacity: number } {
  let format;
  try {
    format = parseSerialFormat(input.format, 'format');
  } catch (error) {
    if (error instanceof SerialFormatError) throw new ValidationError([error.issue]);
    throw error;
  }
  const start = input.start ?? 0;
  const step = input.step ?? 1;
  return { start, step, capacity: poolCapacity(format, start, step) };
}

export async function createSerialPool(db: Db, accountId: string, input: CreateSerialPoolInput, actor: string): Promise<SerialPoolView> {
  const { start, step, capacity } = checkedPoolSettings(input);
  const at = new Date().toISOString();
  const serialPoolId = newId('pool');
  const item = { ...keys.serialPool(accountId, serialPoolId), type: 'serialPool', serialPoolId, name: input.name, format: input.format, start, step, capacity, issued: 0, createdAt: at, updatedAt: at };
  await withFaultRetry(() =>
    db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: db.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
          auditItem(db, { accountId, actor, action: 'serial_pool.create', targetType: 'serialPool', targetId: serialPoolId, details: { name: input.name, format: input.format, start, step, capacity } }, at),
        ],
      }),
    ),
  );
  return toSerialPoolView(item);
}

export async function getSerialPool(db: Db, accountId: string, serialPoolId: string, consistent = false): Promise<SerialPoolView> {
  const { Item } = await withFaultRetry(() => db.doc.send(new GetCommand({ TableName: db.table, Key: keys.serialPool(accountId, serialPoolId), ConsistentRead: consistent })));
  if (!Item) throw new NotFoundError('Serial pool');
  return toSerialPoolView(Item);
}

export function listSerialPools(db: Db, accountId: string, page: PageRequest): Promise<Page<SerialPoolView>> {
  return accountPage(db, accountId, SK_PREFIX.serialPool, page, toSerialPoolView);
}

