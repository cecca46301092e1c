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

  it('sends a ClientRequestToken derived from the state it decided on, so an SDK resend is not applied twice', async () => {
    ddb.on(GetCommand).resolves({ Item: job });
    ddb.on(TransactWriteCommand).resolves({});
    await transitionJob(db, 'acc_1', 'job_1', 'pause', 'key_1');
    await transitionJob(db, 'acc_1', 'job_1', 'pause', 'key_1');
    const [first, second] = ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.ClientRequestToken);
    expect(first).toMatch(/^[0-9a-f]{36}$/);
    expect(second).toBe(first);

    ddb.on(GetCommand).resolves({ Item: { ...job, updatedAt: '2026-11-27T09:31:00.000Z' } });
    await transitionJob(db, 'acc_1', 'job_1', 'pause', 'key_1');
    expect(ddb.commandCalls(TransactWriteCommand)[2]!.args[0].input.ClientRequestToken).not.toBe(first);
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
