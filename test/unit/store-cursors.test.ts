import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_CURSOR_LENGTH } from '../../shared/domain/cursors.js';
import { ValidationError } from '../../shared/domain/errors.js';
import { errorToResponse } from '../../shared/http/error-mapping.js';
import { listAudit } from '../../shared/store/audit.js';
import { HmacCursorCodec, ephemeralCursorCodec } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { listLogLines } from '../../shared/store/logs.js';
import { accountPage } from '../../shared/store/pages.js';

const ddb = mockClient(DynamoDBDocumentClient);
const db: Db = { doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), table: 'entities', events: 'events', cursors: ephemeralCursorCodec() };
const LIST = 'ACCT#acc_1|JOB#';

/** The error a refused cursor gives, and what the one error mapping makes of it. */
async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  const { response, unexpected } = errorToResponse(error);
  expect(unexpected).toBe(false);
  expect(response.statusCode).toBe(400);
  const body = JSON.parse(response.body as string);
  expect(body.error.code).toBe('invalid_request');
  expect(body.error.details.issues.map((issue: { path: string }) => issue.path)).toEqual(['query.cursor']);
  return body.error;
}

describe('the cursor codec', () => {
  it('gives back exactly the position it sealed, for the list it sealed it for', async () => {
    const cursor = await db.cursors.seal(LIST, 'JOB#job_42');
    expect(cursor).not.toContain('JOB#');
    expect(cursor.length).toBeLessThanOrEqual(MAX_CURSOR_LENGTH);
    await expect(db.cursors.open(LIST, cursor)).resolves.toBe('JOB#job_42');
    await expect(db.cursors.open(LIST, undefined)).resolves.toBeUndefined();
  });

  it('refuses a cursor whose position or signature was altered', async () => {
    const cursor = await db.cursors.seal(LIST, 'JOB#job_42');
    const [position, signature] = cursor.split('.') as [string, string];
    const forgedPosition = `${Buffer.from('JOB#job_43').toString('base64url')}.${signature}`;
    const flipped = `${position}.${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
    const unsigned = Buffer.from('JOB#job_42').toString('base64url');
    for (const bad of [forgedPosition, flipped, unsigned, `${position}.`, `.${signature}`, `${cursor}.x`, 'not a cursor']) {
      await refusal(db.cursors.open(LIST, bad));
    }
  });

  it('refuses a truncated cursor', async () => {
    const cursor = await db.cursors.seal(LIST, 'JOB#job_42');
    for (let cut = 1; cut < cursor.length; cut += 7) await refusal(db.cursors.open(LIST, cursor.slice(0, cut)));
  });

  it('refuses a cursor of another list, another account or another deployment', async () => {
    const cursor = await db.cursors.seal(LIST, 'JOB#job_42');
    await refusal(db.cursors.open('ACCT#acc_2|JOB#', cursor));
    await refusal(db.cursors.open('ACCT#acc_1|PRG#', cursor));
    await refusal(ephemeralCursorCodec().open(LIST, cursor));
  });

  it('refuses an over-long cursor before reading the key or decoding anything', async () => {
    let keyReads = 0;
    const codec = new HmacCursorCodec(async () => {
      keyReads += 1;
      return new Uint8Array(32).fill(7);
    });
    const error = await refusal(codec.open(LIST, 'A'.repeat(MAX_CURSOR_LENGTH + 1)));
    expect(error.message).toContain(String(MAX_CURSOR_LENGTH));
    expect(keyReads).toBe(0);
  });

  it('reads its key once per container, and again only after a failed read', async () => {
    let keyReads = 0;
    const codec = new HmacCursorCodec(async () => {
      keyReads += 1;
      if (keyReads === 1) throw new Error('Secrets Manager unreachable');
      return new Uint8Array(32).fill(7);
    });
    await expect(codec.seal(LIST, 'JOB#job_1')).rejects.toThrow('unreachable');
    const cursors = await Promise.all([codec.seal(LIST, 'JOB#job_1'), codec.seal(LIST, 'JOB#job_2')]);
    await expect(codec.open(LIST, cursors[1])).resolves.toBe('JOB#job_2');
    expect(keyReads).toBe(2);
  });
});

describe('lists refuse cursors that are not theirs, before any read', () => {
  afterEach(() => ddb.reset());
  const toView = (item: Record<string, unknown>) => item;

  it('an entity list takes its own cursors and refuses another account’s, another kind’s and a signed position of the wrong shape', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ pk: 'ACCT#acc_1', sk: 'JOB#job_1' }], LastEvaluatedKey: { pk: 'ACCT#acc_1', sk: 'JOB#job_1' } });
    const page = await accountPage(db, 'acc_1', 'JOB#', { limit: 1 }, toView);
    expect(page.nextCursor).not.toBeNull();
    await accountPage(db, 'acc_1', 'JOB#', { limit: 1, cursor: page.nextCursor! }, toView);
    expect(ddb.commandCalls(QueryCommand)[1]!.args[0].input.ExclusiveStartKey).toEqual({ pk: 'ACCT#acc_1', sk: 'JOB#job_1' });

    ddb.resetHistory();
    await refusal(accountPage(db, 'acc_2', 'JOB#', { limit: 1, cursor: page.nextCursor! }, toView));
    await refusal(accountPage(db, 'acc_1', 'PRG#', { limit: 1, cursor: page.nextCursor! }, toView));
    // Signed for the right list, but not a position of it (no DynamoDB key may come from a client).
    await refusal(accountPage(db, 'acc_1', 'JOB#', { limit: 1, cursor: await db.cursors.seal('ACCT#acc_1|JOB#', 'JOB#') }, toView));
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('a job log refuses the cursor of another job and of another account', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    const page = await listLogLines(db, 'acc_1', 'job_1', { limit: 10 });
    await listLogLines(db, 'acc_1', 'job_1', { limit: 10, cursor: page.followCursor });
    ddb.resetHistory();
    await refusal(listLogLines(db, 'acc_1', 'job_2', { limit: 10, cursor: page.followCursor }));
    await refusal(listLogLines(db, 'acc_2', 'job_1', { limit: 10, cursor: page.followCursor }));
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('the audit trail answers an odd cursor with `since` (the 500 of issue 9) with 400, and takes its own browse and feed cursors', async () => {
    ddb.on(QueryCommand).resolves({ Items: [], LastEvaluatedKey: { pk: 'ACCT#acc_1#AUDIT', sk: '2026-11-27T10:00:00.000Z#aud_1' } });
    for (const odd of ['=', 'AAAA', '~~~', Buffer.from('>').toString('base64url'), Buffer.from('').toString('base64url') || 'x']) {
      await refusal(listAudit(db, 'acc_1', { limit: 5, cursor: odd, since: '2026-11-27T00:00:00Z' }));
    }
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
    const browse = await listAudit(db, 'acc_1', { limit: 5 });
    const feed = await listAudit(db, 'acc_1', { limit: 5, since: '2026-11-27T00:00:00Z' });
    await listAudit(db, 'acc_1', { limit: 5, cursor: browse.nextCursor! });
    await listAudit(db, 'acc_1', { limit: 5, cursor: feed.followCursor });
    const [, , browseNext, feedNext] = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(browseNext!.ScanIndexForward).toBe(false);
    expect(browseNext!.ExclusiveStartKey).toEqual({ pk: 'ACCT#acc_1#AUDIT', sk: '2026-11-27T10:00:00.000Z#aud_1' });
    expect(feedNext!.ScanIndexForward).toBeUndefined();
    await refusal(listAudit(db, 'acc_2', { limit: 5, cursor: browse.nextCursor! }));
  });
});
