import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { IndexRuns, UnitFieldDefinition } from '../domain/unit-data.js';
import type { Db } from './db.js';
import { withFaultRetry } from './faults.js';
import { keys } from './keys.js';

/**
 * The traceability index (GET /v1/units): one item per authorization and run of a serial pool or
 * MAC block field, saying which authorization got indexes first…first+count−1. A value found by
 * parsing it back to its source index leads to the item at or below that index, so a lookup
 * needs no item per unit. Jobs without such fields write nothing here.
 */
export function unitIndexWrites(db: Db, accountId: string, authorizationId: string, jobId: string, fields: readonly UnitFieldDefinition[], draws: readonly IndexRuns[]): Promise<unknown> {
  const puts = fields.flatMap((field, f) =>
    field.kind === 'list'
      ? []
      : (draws[f] ?? []).map(([first, count]) =>
          withFaultRetry(() =>
            db.doc.send(
              new PutCommand({
                TableName: db.table,
                Item: { ...keys.unitIndex(accountId, field.sourceId, first, authorizationId), authorizationId, jobId, first, count, field: f },
              }),
            ),
          ),
        ),
  );
  return Promise.all(puts);
}
