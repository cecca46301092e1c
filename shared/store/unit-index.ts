import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { IndexRuns, UnitFieldDefinition } from '../domain/unit-data.js';
import type { Db } from './db.js';
import { UnprocessedItemsError, withFaultRetry } from './faults.js';
import { keys } from './keys.js';

/** DynamoDB's most requests in one BatchWriteItem. */
const BATCH_WRITE_LIMIT = 25;

/**
 * The traceability index (GET /v1/units): one item per authorization and run of a serial pool or
 * MAC block field, saying which authorization got indexes first…first+count−1. A value found by
 * parsing it back to its source index leads to the item at or below that index, so a lookup
 * needs no item per unit. Jobs without such fields write nothing here.
 */
export async function unitIndexWrites(db: Db, accountId: string, authorizationId: string, jobId: string, fields: readonly UnitFieldDefinition[], draws: readonly IndexRuns[]): Promise<void> {
  const items = fields.flatMap((field, f) =>
    field.kind === 'list'
      ? []
      : (draws[f] ?? []).map(([first, count]) => ({ ...keys.unitIndex(accountId, field.sourceId, first, authorizationId), authorizationId, jobId, first, count, field: f })),
  );
  // One BatchWriteItem for all of them (runs are disjoint, so no two share a key): a round trip
  // per authorization, not one per source. Unprocessed items go again inside the fault budget.
  for (let i = 0; i < items.length; i += BATCH_WRITE_LIMIT) {
    let pending: { PutRequest: { Item: Record<string, unknown> } }[] = items.slice(i, i + BATCH_WRITE_LIMIT).map((Item) => ({ PutRequest: { Item } }));
    await withFaultRetry(async () => {
      const output = await db.doc.send(new BatchWriteCommand({ RequestItems: { [db.table]: pending } }));
      pending = (output.UnprocessedItems?.[db.table] ?? []) as typeof pending;
      if (pending.length > 0) throw new UnprocessedItemsError(pending.length);
    });
  }
}
