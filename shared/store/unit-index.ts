import type { IndexRuns, UnitFieldDefinition } from '../domain/unit-data.js';
import { keys } from './keys.js';

/**
 * The traceability index (GET /v1/units): one item per authorization and run of a serial pool or
 * MAC block field, saying which authorization got indexes first…first+count−1. A value found by
 * parsing it back to its source index leads to the item at or below that index, so a lookup
 * needs no item per unit. Jobs without such fields write nothing here.
 */
export function unitIndexItems(accountId: string, authorizationId: string, jobId: string, fields: readonly UnitFieldDefinition[], draws: readonly IndexRuns[]): Record<string, unknown>[] {
  return fields.flatMap((field, f) =>
    field.kind === 'list'
      ? []
      : (draws[f] ?? []).map(([first, count]) => ({ ...keys.unitIndex(accountId, field.sourceId, first, authorizationId), authorizationId, jobId, first, count, field: f })),
  );
}
