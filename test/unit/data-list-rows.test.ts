import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { UnitFieldDefinition } from '../../shared/domain/unit-data.js';
import { listRowsOf } from '../../shared/store/data-list-rows.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { keys } from '../../shared/store/keys.js';

const ddb = mockClient(DynamoDBDocumentClient);
const db: Db = { doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), table: 'entities', events: 'events', cursors: ephemeralCursorCodec() };

/** A list of plain rows `row-<index>`, 100 a chunk, as the store writes them. */
function field(listId: string): UnitFieldDefinition {
  return { name: 'label', kind: 'list', sourceId: listId, capacity: 1000, uploadId: 'up1', columns: [{ name: 'label', secret: false }] };
}
function answerChunks(listId: string) {
  ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: { pk: string; sk: string }[] }> }) => ({
    Responses: {
      entities: input.RequestItems.entities!.Keys.map((key) => {
        const chunk = Number(key.sk);
        expect(key).toEqual(keys.dataListChunk('acc1', listId, 'up1', chunk));
        return { ...key, plain: Array.from({ length: 100 }, (_, offset) => [`row-${chunk * 100 + offset}`]) };
      }),
    },
  }));
}

describe('data-list rows', () => {
  afterEach(() => ddb.reset());

  it('reads a chunk once per container: rows never change after a list is filled', async () => {
    answerChunks('list_cache');
    const first = await listRowsOf(db, 'plainOnly', 'acc1', [field('list_cache')], [[[5, 2]]]);
    const second = await listRowsOf(db, 'plainOnly', 'acc1', [field('list_cache')], [[[7, 1]]]);
    expect(first).toEqual([[['row-5'], ['row-6']]]);
    expect(second).toEqual([[['row-7']]]);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(1);
    // A run across a chunk boundary reads only the chunk not seen yet.
    expect(await listRowsOf(db, 'plainOnly', 'acc1', [field('list_cache')], [[[99, 2]]])).toEqual([[['row-99'], ['row-100']]]);
    const calls = ddb.commandCalls(BatchGetCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input.RequestItems!.entities!.Keys).toEqual([keys.dataListChunk('acc1', 'list_cache', 'up1', 1)]);
  });
});
