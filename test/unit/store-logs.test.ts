import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../shared/store/db.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import { appendLogLines } from '../../shared/store/logs.js';

const ddb = mockClient(DynamoDBDocumentClient);
const db: Db = { doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), table: 'entities', events: 'events', cursors: ephemeralCursorCodec() };
const lines = [{ at: '2026-11-27T09:00:00.000Z', level: 'info' as const, message: 'programmed' }];
const conflict = () =>
  Object.assign(new Error('Transaction cancelled'), { name: 'TransactionCanceledException', CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }] });

describe('appendLogLines under AWS faults', () => {
  afterEach(() => ddb.reset());

  it('retries a conflicted chunk with a fresh arrival stamp instead of failing the request', async () => {
    ddb.on(TransactWriteCommand).rejectsOnce(conflict()).resolves({});
    await expect(appendLogLines(db, 'acc_1', 'job_1', { programmerId: 'prg_1' }, lines)).resolves.toBe(1);
    const [first, second] = ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems![1]!.Put!.Item!.receivedAt);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
    expect(second! >= first!).toBe(true);
  });

  it('answers 429 throttled when DynamoDB keeps throttling, with nothing stored', async () => {
    ddb.on(TransactWriteCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(appendLogLines(db, 'acc_1', 'job_1', { programmerId: 'prg_1' }, lines)).rejects.toMatchObject({ status: 429, code: 'throttled' });
  }, 10_000);
});
