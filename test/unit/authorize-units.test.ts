import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type TicketSigner, authorizationIdFor, authorizeUnits, recoverStaleReservations } from '../../shared/store/authorizations.js';
import type { Db } from '../../shared/store/db.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import { keys } from '../../shared/store/keys.js';

const ddb = mockClient(DynamoDBDocumentClient);
const db: Db = { doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), table: 'entities', events: 'events', cursors: ephemeralCursorCodec() };
const input = { accountId: 'acc_1', programmerId: 'prg_1', jobId: 'job_1', units: 3, nonce: 'nonce-0001' };
const authorizationId = authorizationIdFor('acc_1', 'prg_1', 'nonce-0001');
const now = new Date('2026-11-27T10:00:00.000Z');
const nowSeconds = Math.floor(now.getTime() / 1000);
const ledger = keys.reservationAttribute(nowSeconds, 3, authorizationId);

const programmerItem = { ...keys.programmer('acc_1', 'prg_1'), programmerId: 'prg_1', factoryId: 'fac_1', status: 'active', encryptionKeyIds: [] };
const jobItem = (overrides: Record<string, unknown> = {}) => ({
  ...keys.job('acc_1', 'job_1'),
  jobId: 'job_1',
  imageId: 'img_1',
  factoryId: 'fac_1',
  name: 'j',
  status: 'active',
  maxCount: 10,
  run: 1,
  authorized: 4,
  nextSerialIndex: 4,
  serialStart: 100,
  serialStep: 1,
  serialFormat: 'SN-{n}',
  delivery: 'direct',
  createdAt: 't',
  updatedAt: 't',
  ...overrides,
});

const signed: Record<string, unknown>[] = [];
const tickets: TicketSigner = {
  signTicket: async (payload) => {
    signed.push(payload);
    return `ticket-for-${String(payload.jti)}`;
  },
};
const bindings = { verify: async () => true };
const deps = { db, tickets, bindings };

const conditionFailed = (item?: Record<string, unknown>) =>
  Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException', ...(item && { Item: marshall(item) }) });
const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
const transactionConflict = () =>
  Object.assign(new Error('Transaction cancelled'), { name: 'TransactionCanceledException', CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }] });

describe('authorizeUnits: contention-free reservation', () => {
  beforeEach(() => {
    ddb.reset();
    signed.length = 0;
  });
  afterEach(() => ddb.reset());

  it('costs one batched read, ONE atomic job update and one write of the authorization, whatever the concurrency', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem()] } });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).resolves({ Attributes: jobItem({ authorized: 7, nextSerialIndex: 7, [ledger]: 4 }) });

    const { authorization, created } = await authorizeUnits(deps, input, now);

    expect(created).toBe(true);
    expect(authorization.serials).toEqual(['SN-104', 'SN-105', 'SN-106']);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    const reserve = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    // Nothing read is part of the condition but the limit itself: concurrent callers do not make each other fail.
    expect(reserve.UpdateExpression).toContain('authorized = authorized + :units');
    expect(reserve.UpdateExpression).toContain('#rsv = nextSerialIndex');
    expect(reserve.ConditionExpression).toContain('authorized <= :lastAllowed');
    expect(reserve.ConditionExpression).not.toContain('nextSerialIndex');
    expect(reserve.ExpressionAttributeValues).toMatchObject({ ':lastAllowed': 7, ':units': 3 });
    expect(reserve.ExpressionAttributeNames?.['#rsv']).toBe(ledger);
    expect(reserve.ReturnValues).toBe('ALL_NEW');
    const grant = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(grant.ConditionExpression).toBe('attribute_not_exists(pk)');
    // Serials are stored as where they start: the item stays small whatever the units.
    expect(grant.Item).toMatchObject({ state: 'granted', firstIndex: 4, units: 3, ticket: `ticket-for-${authorizationId}` });
    expect(grant.Item).not.toHaveProperty('serials');
    expect(signed[0]).toMatchObject({ sub: 'prg_1', units: 3, serials: ['SN-104', 'SN-105', 'SN-106'], exp: nowSeconds + 600, iat: nowSeconds });
  });

  it('never issues a ticket that outlives the job', async () => {
    const notAfter = new Date(now.getTime() + 120_000).toISOString();
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem({ notAfter })] } });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).resolves({ Attributes: jobItem({ notAfter, authorized: 7, nextSerialIndex: 7, [ledger]: 4 }) });
    const { authorization } = await authorizeUnits(deps, { ...input, validSeconds: 3600 }, now).catch((error) => ({ authorization: error }));
    // 3600 s is above the default maxLeaseSeconds: refused before any write.
    expect(authorization).toMatchObject({ status: 409, code: 'lease_too_long', details: { maxLeaseSeconds: 600 } });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);

    const granted = await authorizeUnits(deps, { ...input, validSeconds: 300 }, now);
    expect(granted.authorization.expiresAt).toBe(notAfter);
  });

  it('finishes its own reservation when a retry of the nonce finds it in the ledger (crash after reserving)', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem({ authorized: 10, nextSerialIndex: 9, [ledger]: 4 })] } });
    ddb.on(PutCommand).resolves({});

    // The job is full by now, but these units are counted already: the limit is not checked again.
    const { authorization, created } = await authorizeUnits(deps, input, new Date(now.getTime() + 5_000));

    expect(created).toBe(true);
    expect(authorization.serials).toEqual(['SN-104', 'SN-105', 'SN-106']);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0); // the reservation was already there
    expect(ddb.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({ firstIndex: 4, state: 'granted' });
  });

  it('decides again on the job the failed condition returns, and writes nothing when refused', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem()] } });
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).rejects(conditionFailed(jobItem({ authorized: 9, nextSerialIndex: 9 })));

    await expect(authorizeUnits(deps, input, now)).rejects.toMatchObject({ status: 409, code: 'job_completed', details: { remaining: 1 } });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(signed).toHaveLength(0);
  });

  it('gives its own reservation back when a twin request for the nonce granted with another one', async () => {
    const twinGrant = { ...keys.authorization('acc_1', authorizationId), authorizationId, jobId: 'job_1', programmerId: 'prg_1', nonce: 'nonce-0001', units: 3, run: 1, state: 'granted', firstIndex: 7, serialStart: 100, serialStep: 1, serialFormat: 'SN-{n}', ticket: 't', expiresAt: 'x' };
    ddb.on(BatchGetCommand).resolvesOnce({ Responses: { entities: [programmerItem, jobItem()] } }).resolves({ Responses: { entities: [programmerItem, jobItem(), twinGrant] } });
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).resolves({ Attributes: jobItem({ authorized: 7, nextSerialIndex: 7, [ledger]: 4 }) });
    ddb.on(PutCommand).rejects(conditionFailed());
    ddb.on(GetCommand, { Key: keys.authorization('acc_1', authorizationId) }).resolves({ Item: twinGrant });
    ddb.on(GetCommand, { Key: keys.job('acc_1', 'job_1') }).resolves({ Item: jobItem({ authorized: 10, nextSerialIndex: 10, [ledger]: 4 }) });

    const { authorization, created } = await authorizeUnits(deps, input, now);

    expect(created).toBe(false);
    expect(authorization.serials).toEqual(['SN-107', 'SN-108', 'SN-109']);
    const giveBack = ddb.commandCalls(UpdateCommand)[1]!.args[0].input;
    expect(giveBack.UpdateExpression).toBe('SET authorized = authorized - :units, updatedAt = :at REMOVE #rsv');
    // Only while the reservation is still in the run it was counted in (no restart since the read).
    expect(giveBack.ConditionExpression).toBe('#rsv = :firstIndex AND (attribute_not_exists(runStartIndex) OR runStartIndex <= :firstIndex)');
    expect(giveBack.ExpressionAttributeValues).toMatchObject({ ':units': 3, ':firstIndex': 4 });
  });

  it('stores a session-key ticket in one write unit and gives it back byte for byte to a retried nonce', async () => {
    const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const crt = `${segment({ alg: 'ES256', typ: 'flashline-key+jwt', kid: 'root-kid' })}.${segment({ iss: 'flashline', sub: 'session-kid', jwk: { kty: 'EC', crv: 'P-256', x: 'x'.repeat(43), y: 'y'.repeat(43) } })}.${'s'.repeat(86)}`;
    const sessionTickets: TicketSigner = {
      signTicket: async (payload) => `${segment({ alg: 'ES256', typ: 'flashline-ticket+jwt', kid: 'session-kid', crt })}.${segment(payload)}.${Buffer.alloc(64, 7).toString('base64url')}`,
    };
    const units = 100;
    const bigLedger = keys.reservationAttribute(nowSeconds, units, authorizationId);
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem({ maxCount: 1000 })] } });
    ddb.on(UpdateCommand).resolves({ Attributes: jobItem({ maxCount: 1000, authorized: 104, nextSerialIndex: 104, [bigLedger]: 4 }) });
    ddb.on(PutCommand).resolves({});
    const issued = await authorizeUnits({ ...deps, tickets: sessionTickets }, { ...input, units }, now);

    const puts = ddb.commandCalls(PutCommand).map((call) => call.args[0].input.Item!);
    const certificate = puts.find((item) => item.type === 'session-key-certificate')!;
    expect(certificate).toMatchObject({ ...keys.sessionKeyCertificate('session-kid'), crt });
    const stored = puts.find((item) => item.state === 'granted')!;
    expect(stored).not.toHaveProperty('ticket');
    // What DynamoDB bills by: the item's attribute names and values, well under 1 KB for 100 serials.
    const bytes = Object.entries(stored).reduce((sum, [name, value]) => sum + name.length + (value instanceof Uint8Array ? value.length : String(value).length), 0);
    expect(bytes).toBeLessThan(1024);

    ddb.reset();
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem(), stored] } });
    ddb.on(GetCommand).resolves({ Item: certificate });
    const replayed = await authorizeUnits({ ...deps, tickets: sessionTickets }, { ...input, units }, now);
    expect(replayed.created).toBe(false);
    expect(replayed.authorization.ticket).toBe(issued.authorization.ticket);
    expect(replayed.authorization.serials).toEqual(issued.authorization.serials);
  });

  it('refuses without writing when the snapshot already says no, saying what remains', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem({ authorized: 9, nextSerialIndex: 9 })] } });
    await expect(authorizeUnits(deps, input, now)).rejects.toMatchObject({ status: 409, code: 'job_completed', details: { remaining: 1 } });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('returns the stored authorization for a granted nonce, and refuses the nonce for another request', async () => {
    const grantedItem = { ...keys.authorization('acc_1', authorizationId), authorizationId, jobId: 'job_1', programmerId: 'prg_1', nonce: 'nonce-0001', units: 3, run: 1, state: 'granted', serials: ['SN-1', 'SN-2', 'SN-3'], ticket: 't', expiresAt: 'x', nowSeconds };
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem({ status: 'paused' }), grantedItem] } });
    await expect(authorizeUnits(deps, input, now)).resolves.toMatchObject({ created: false, authorization: { serials: ['SN-1', 'SN-2', 'SN-3'] } });
    await expect(authorizeUnits(deps, { ...input, units: 4 }, now)).rejects.toMatchObject({ status: 409, code: 'nonce_reused' });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});

describe('authorizeUnits: AWS faults are 429, never 500, and never half-written', () => {
  beforeEach(() => {
    ddb.reset();
    signed.length = 0;
    vi.useFakeTimers({ toFake: ['setTimeout', 'Date'] });
    vi.setSystemTime(now);
  });
  afterEach(() => {
    vi.useRealTimers();
    ddb.reset();
  });

  const run = async <T>(promise: Promise<T>) => {
    const settled = promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await vi.runAllTimersAsync();
    return settled;
  };

  it.each([
    ['DynamoDB throttling', throttled],
    ['a transaction conflict', transactionConflict],
  ])('retries %s on the reservation with backoff and succeeds when it clears', async (_name, fault) => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem()] } });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') })
      .rejectsOnce(fault())
      .rejectsOnce(fault())
      .resolves({ Attributes: jobItem({ authorized: 7, nextSerialIndex: 7, [ledger]: 4 }) });
    const outcome = await run(authorizeUnits(deps, input, now));
    expect(outcome).toMatchObject({ value: { created: true } });
    expect(ddb.commandCalls(UpdateCommand, { Key: keys.job('acc_1', 'job_1') })).toHaveLength(3);
  });

  it('retries a conflict on the grant transaction of a job with a serial pool, writing the grant and its index item together once', async () => {
    const pool = keys.serialPool('acc_1', 'spl_conflict');
    const unitFields = [{ name: 'board', kind: 'serial', sourceId: 'spl_conflict', format: 'B{n:04}', start: 0, step: 1, capacity: 10_000 }];
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem({ unitFields })] } });
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).resolves({ Attributes: jobItem({ unitFields, authorized: 7, nextSerialIndex: 7, [ledger]: 4 }) });
    ddb.on(UpdateCommand, { Key: pool }).resolves({ Attributes: { issued: 3 } });
    ddb.on(TransactWriteCommand).rejectsOnce(transactionConflict()).resolves({});
    const outcome = await run(authorizeUnits(deps, input, now));
    expect(outcome).toMatchObject({ value: { created: true, authorization: { unitData: [{ fields: { board: 'B0000' } }, { fields: { board: 'B0001' } }, { fields: { board: 'B0002' } }] } } });
    const writes = ddb.commandCalls(TransactWriteCommand);
    expect(writes).toHaveLength(2);
    const items = writes[1]!.args[0].input.TransactItems!;
    expect(items[0]!.Put).toMatchObject({ Item: keys.authorization('acc_1', authorizationId), ConditionExpression: 'attribute_not_exists(pk)' });
    expect(items.slice(1).map((item) => item.Put?.Item)).toEqual([expect.objectContaining({ ...keys.unitIndex('acc_1', 'spl_conflict', 0, authorizationId), first: 0, count: 3 })]);
    // The grant is never a plain Put beside the transaction, and the pool was taken from once.
    expect(ddb.commandCalls(PutCommand).filter((call) => (call.args[0].input.Item as { pk?: string }).pk === keys.authorization('acc_1', authorizationId).pk)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateCommand, { Key: pool })).toHaveLength(1);
  });

  it('answers 429 throttled with a Retry-After when the fault outlasts the budget, with no unit counted', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem()] } });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).rejects(throttled());
    const outcome = await run(authorizeUnits(deps, input, now));
    expect(outcome).toMatchObject({ error: { status: 429, code: 'throttled', retryAfterSeconds: 1 } });
    // Nothing went through: no unit is counted.
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(signed).toHaveLength(0);
  });

  it('answers 429 when the ticket signer (KMS) stays throttled, leaving a reservation its retry finishes', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem()] } });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).resolves({ Attributes: jobItem({ authorized: 7, nextSerialIndex: 7, [ledger]: 4 }) });
    const kmsThrottled = { signTicket: vi.fn().mockRejectedValue(throttled()) };
    const outcome = await run(authorizeUnits({ ...deps, tickets: kmsThrottled }, input, now));
    expect(outcome).toMatchObject({ error: { status: 429, code: 'throttled' } });
    expect(kmsThrottled.signTicket.mock.calls.length).toBeGreaterThan(1);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('does not retry a failed condition as if it were a fault', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem()] } });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).rejects(conditionFailed(jobItem({ status: 'paused' })));
    const outcome = await run(authorizeUnits(deps, input, now));
    expect(outcome).toMatchObject({ error: { status: 409, code: 'job_paused' } });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  });
});

describe('recoverStaleReservations', () => {
  beforeEach(() => ddb.reset());
  const staleName = keys.reservationAttribute(nowSeconds - 120, 3, authorizationId);
  const granted = (firstIndex: number) => ({ authorizationId, jobId: 'job_1', programmerId: 'prg_1', units: 3, run: 1, state: 'granted', firstIndex, serialStart: 100, serialStep: 1, serialFormat: 'SN-{n}' });

  it('gives back a stale reservation no authorization holds, with a tombstone in the same transaction', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).resolves({});
    const recovered = await recoverStaleReservations(db, 'acc_1', jobItem({ [staleName]: 4 }), now);
    expect(recovered).toBe(1);
    const [jobUpdate, tombstone] = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    expect(jobUpdate!.Update!.UpdateExpression).toBe('SET authorized = authorized - :units, updatedAt = :at REMOVE #rsv');
    expect(jobUpdate!.Update!.ExpressionAttributeValues).toMatchObject({ ':units': 3, ':firstIndex': 4 });
    expect(tombstone!.Put!.Item).toMatchObject({ state: 'abandoned', units: 3, jobId: 'job_1' });
    expect(tombstone!.Put!.ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('gives back a twin’s leftover reservation without touching the authorization that holds another one', async () => {
    ddb.on(GetCommand).resolves({ Item: granted(9) });
    ddb.on(TransactWriteCommand).resolves({});
    await recoverStaleReservations(db, 'acc_1', jobItem({ [staleName]: 4 }), now);
    expect(ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems).toHaveLength(1);
  });

  it('does not count back units of a reservation made before a restart', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).resolves({});
    await recoverStaleReservations(db, 'acc_1', jobItem({ [staleName]: 4, runStartIndex: 8 }), now);
    expect(ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems![0]!.Update!.UpdateExpression).toBe('REMOVE #rsv');
  });

  it('only removes the entry of a reservation that was granted, and leaves fresh ones alone', async () => {
    ddb.on(GetCommand).resolves({ Item: granted(4) });
    ddb.on(UpdateCommand).resolves({});
    await recoverStaleReservations(db, 'acc_1', jobItem({ [staleName]: 4, [keys.reservationAttribute(nowSeconds - 5, 1, 'auth_ffff')]: 9 }), now);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand)[0]!.args[0].input.UpdateExpression).toBe('REMOVE #rsv');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});
