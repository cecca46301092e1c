import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ThrottledError } from '../../shared/domain/errors.js';
import { errorToResponse } from '../../shared/http/error-mapping.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import { type Db, getItems } from '../../shared/store/db.js';

const ddb = mockClient(DynamoDBDocumentClient);
const db: Db = { doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), table: 'entities', events: 'events', cursors: NO_CURSORS };
const keyOf = (n: number) => ({ pk: 'ACCT#acc_1', sk: `JOB#job_${n}` });
const itemOf = (n: number) => ({ ...keyOf(n), jobId: `job_${n}` });

describe('getItems with keys DynamoDB leaves unprocessed', () => {
  afterEach(() => ddb.reset());

  it('sends only the unprocessed keys again and answers every item in the order asked', async () => {
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { entities: [itemOf(3), itemOf(1)] }, UnprocessedKeys: { entities: { Keys: [keyOf(2)] } } })
      .resolvesOnce({ Responses: { entities: [itemOf(2)] } });
    await expect(getItems(db, 'entities', [keyOf(1), keyOf(2), keyOf(3), keyOf(4)], false)).resolves.toEqual([itemOf(1), itemOf(2), itemOf(3), undefined]);
    const calls = ddb.commandCalls(BatchGetCommand).map((call) => call.args[0].input.RequestItems!.entities!.Keys);
    expect(calls).toEqual([[keyOf(1), keyOf(2), keyOf(3), keyOf(4)], [keyOf(2)]]);
  });

  it('gives up after a bounded number of attempts with 429 throttled and Retry-After, never looping on', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [] }, UnprocessedKeys: { entities: { Keys: [keyOf(1)] } } });
    const error = await getItems(db, 'entities', [keyOf(1)], true).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ThrottledError);
    const attempts = ddb.commandCalls(BatchGetCommand).length;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(8);
    const { response } = errorToResponse(error);
    expect(response.statusCode).toBe(429);
    expect(response.headers?.['retry-after']).toBe('1');
    expect(JSON.parse(response.body as string).error).toMatchObject({ code: 'throttled', details: { retryAfterSeconds: 1 } });
  }, 10_000);
});
