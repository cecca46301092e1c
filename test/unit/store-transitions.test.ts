import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../shared/store/db.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import { transitionJob } from '../../shared/store/jobs.js';
import { keys } from '../../shared/store/keys.js';

const ddb = mockClient(DynamoDBDocumentClient);
const db: Db = { doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), table: 'entities', events: 'events', cursors: ephemeralCursorCodec() };
const job = {
  ...keys.job('acc_1', 'job_1'),
  jobId: 'job_1',
  imageId: 'img_1',
  factoryId: 'fac_1',
  name: 'j',
  status: 'active',
  run: 3,
  authorized: 5,
  nextSerialIndex: 5,
  serialStart: 1,
  serialStep: 1,
  serialFormat: 'SN-{n}',
  delivery: 'direct',
  createdAt: '2026-11-27T09:00:00.000Z',
  updatedAt: '2026-11-27T09:30:00.000Z',
};

describe('transitionJob', () => {
  afterEach(() => ddb.reset());

  it('sends one ClientRequestToken per decision: kept by a resend, never shared by two requests', async () => {
    ddb.on(GetCommand).resolves({ Item: job });
    ddb.on(TransactWriteCommand).rejectsOnce(Object.assign(new Error('Throughput exceeded'), { name: 'ProvisionedThroughputExceededException' })).resolves({});
    await transitionJob(db, 'acc_1', 'job_1', 'pause', 'key_1');
    const [sent, resent] = ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.ClientRequestToken);
    expect(sent).toMatch(/^[0-9a-f-]{36}$/);
    expect(resent).toBe(sent);

    await transitionJob(db, 'acc_1', 'job_1', 'pause', 'key_1');
    expect(ddb.commandCalls(TransactWriteCommand)[2]!.args[0].input.ClientRequestToken).not.toBe(sent);
  });

  it('answers the second of two concurrent pauses 409, never the 500 of a token reused with other items', async () => {
    // DynamoDB's rules, as far as they matter here: a committed token answered again with the
    // same items is a no-op, with other items IdempotentParameterMismatch; the status condition
    // fails once the job is paused.
    let stored = { ...job };
    const committed = new Map<string, string>();
    ddb.on(GetCommand).callsFake(() => ({ Item: stored }));
    ddb.on(TransactWriteCommand).callsFake((input) => {
      const items = JSON.stringify(input.TransactItems);
      const seen = committed.get(input.ClientRequestToken);
      if (seen !== undefined) {
        if (seen !== items) throw Object.assign(new Error('Token reused'), { name: 'IdempotentParameterMismatchException' });
        return {};
      }
      const update = input.TransactItems[0].Update;
      if (update.ExpressionAttributeValues[':current'] !== stored.status) {
        throw Object.assign(new Error('Transaction cancelled'), { name: 'TransactionCanceledException', CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }] });
      }
      committed.set(input.ClientRequestToken, items);
      stored = { ...stored, status: update.ExpressionAttributeValues[':next'] };
      return {};
    });
    // Both requests decide on the active job before either writes.
    const [first, second] = await Promise.allSettled([transitionJob(db, 'acc_1', 'job_1', 'pause', 'key_1'), transitionJob(db, 'acc_1', 'job_1', 'pause', 'key_2')]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');
    expect((second as PromiseRejectedResult).reason).toMatchObject({ status: 409, code: 'invalid_transition' });
  });

  it('resets returned units with the other counters on restart', async () => {
    ddb.on(GetCommand).resolves({ Item: { ...job, returned: 4 } });
    ddb.on(TransactWriteCommand).resolves({});
    const { job: restarted } = await transitionJob(db, 'acc_1', 'job_1', 'restart', 'key_1');
    const update = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems![0]!.Update!;
    expect(update.UpdateExpression).toContain('#returned = :zero');
    expect(restarted.counters).toMatchObject({ authorized: 0, returned: 0 });
  });
});
