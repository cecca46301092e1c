import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type TicketSigner, authorizationIdFor, authorizeUnits, recoverStaleReservations } from '../../shared/store/authorizations.js';
import type { Db } from '../../shared/store/db.js';
import { keys } from '../../shared/store/keys.js';

const ddb = mockClient(DynamoDBDocumentClient);
const db: Db = { doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), table: 'entities', events: 'events' };
const input = { accountId: 'acc_1', programmerId: 'prg_1', jobId: 'job_1', units: 3, nonce: 'nonce-0001' };
const authorizationId = authorizationIdFor('acc_1', 'prg_1', 'nonce-0001');
const now = new Date('2026-11-27T10:00:00.000Z');
const claimedAt = Math.floor(now.getTime() / 1000);
const ledger = keys.reservationAttribute(claimedAt, authorizationId);

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

  it('costs one batched read, a claim, ONE atomic job update and the grant, whatever the concurrency', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem()] } });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).resolves({ Attributes: jobItem({ authorized: 7, nextSerialIndex: 7, [ledger]: 4 }) });
    ddb.on(UpdateCommand, { Key: keys.authorization('acc_1', authorizationId) }).resolves({});

    const { authorization, created } = await authorizeUnits(deps, input, now);

    expect(created).toBe(true);
    expect(authorization.serials).toEqual(['SN-104', 'SN-105', 'SN-106']);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(2);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    const claim = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(claim.Item).toMatchObject({ state: 'pending', claimedAt, units: 3, jobId: 'job_1' });
    expect(claim.ConditionExpression).toBe('attribute_not_exists(pk)');
    const reserve = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    // Nothing read is part of the condition but the limit itself: concurrent callers do not make each other fail.
    expect(reserve.UpdateExpression).toContain('authorized = authorized + :units');
    expect(reserve.UpdateExpression).toContain('#rsv = nextSerialIndex');
    expect(reserve.ConditionExpression).toContain('authorized <= :lastAllowed');
    expect(reserve.ConditionExpression).not.toContain('nextSerialIndex');
    expect(reserve.ExpressionAttributeValues).toMatchObject({ ':lastAllowed': 7, ':units': 3 });
    expect(reserve.ExpressionAttributeNames?.['#rsv']).toBe(ledger);
    expect(reserve.ReturnValues).toBe('ALL_NEW');
    const grant = ddb.commandCalls(UpdateCommand)[1]!.args[0].input;
    expect(grant.ConditionExpression).toBe('#state = :pending AND claimedAt = :claimedAt');
    expect(grant.ExpressionAttributeValues).toMatchObject({ ':serials': ['SN-104', 'SN-105', 'SN-106'], ':ticket': `ticket-for-${authorizationId}` });
    expect(signed[0]).toMatchObject({ sub: 'prg_1', units: 3, serials: ['SN-104', 'SN-105', 'SN-106'], exp: claimedAt + 600, iat: claimedAt });
  });

  it('never issues a ticket that outlives the job', async () => {
    const notAfter = new Date(now.getTime() + 120_000).toISOString();
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem({ notAfter })] } });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).resolves({ Attributes: jobItem({ notAfter, authorized: 7, nextSerialIndex: 7, [ledger]: 4 }) });
    ddb.on(UpdateCommand, { Key: keys.authorization('acc_1', authorizationId) }).resolves({});
    const { authorization } = await authorizeUnits(deps, { ...input, validSeconds: 3600 }, now).catch((error) => ({ authorization: error }));
    // 3600 s is above the default maxLeaseSeconds: refused before any write.
    expect(authorization).toMatchObject({ status: 400, details: { issues: [{ path: 'validSeconds' }] } });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);

    const granted = await authorizeUnits(deps, { ...input, validSeconds: 300 }, now);
    expect(granted.authorization.expiresAt).toBe(notAfter);
  });

  it('finishes its own reservation when a retry of the nonce finds it in the ledger (crash after reserving)', async () => {
    const pendingClaim = { ...keys.authorization('acc_1', authorizationId), authorizationId, jobId: 'job_1', programmerId: 'prg_1', nonce: 'nonce-0001', units: 3, run: 1, state: 'pending', claimedAt };
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem({ authorized: 9, nextSerialIndex: 9, [ledger]: 4 }), pendingClaim] } });
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).rejects(conditionFailed(jobItem({ authorized: 7, nextSerialIndex: 9, [ledger]: 4 })));
    ddb.on(UpdateCommand, { Key: keys.authorization('acc_1', authorizationId) }).resolves({});

    const { authorization, created } = await authorizeUnits(deps, input, new Date(now.getTime() + 5_000));

    expect(created).toBe(true);
    expect(authorization.serials).toEqual(['SN-104', 'SN-105', 'SN-106']);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0); // the claim was already there
    expect(ddb.commandCalls(UpdateCommand, { Key: keys.job('acc_1', 'job_1') })).toHaveLength(0); // and so was the reservation
  });

  it('decides again on the job the failed condition returns, and frees the claim when refused', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem()] } });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).rejects(conditionFailed(jobItem({ authorized: 9, nextSerialIndex: 9 })));
    ddb.on(UpdateCommand, { Key: keys.authorization('acc_1', authorizationId) }).resolves({});

    await expect(authorizeUnits(deps, input, now)).rejects.toMatchObject({ status: 409, code: 'job_completed', details: { remaining: 1 } });
    // Freed by marking it abandoned (the next claim of the nonce takes it over), never deleted.
    const freed = ddb.commandCalls(UpdateCommand, { Key: keys.authorization('acc_1', authorizationId) });
    expect(freed).toHaveLength(1);
    expect(freed[0]?.args[0].input).toMatchObject({ ConditionExpression: '#state = :pending AND claimedAt = :claimedAt', ExpressionAttributeValues: { ':abandoned': 'abandoned' } });
    expect(signed).toHaveLength(0);
  });

  it('refuses without writing when the snapshot already says no, saying what remains', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem({ authorized: 9, nextSerialIndex: 9 })] } });
    await expect(authorizeUnits(deps, input, now)).rejects.toMatchObject({ status: 409, code: 'job_completed', details: { remaining: 1 } });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('returns the stored authorization for a granted nonce, and refuses the nonce for another request', async () => {
    const grantedItem = { ...keys.authorization('acc_1', authorizationId), authorizationId, jobId: 'job_1', programmerId: 'prg_1', nonce: 'nonce-0001', units: 3, run: 1, state: 'granted', serials: ['SN-1', 'SN-2', 'SN-3'], ticket: 't', expiresAt: 'x', claimedAt };
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
    ddb.on(UpdateCommand, { Key: keys.authorization('acc_1', authorizationId) }).resolves({});
    const outcome = await run(authorizeUnits(deps, input, now));
    expect(outcome).toMatchObject({ value: { created: true } });
    expect(ddb.commandCalls(UpdateCommand, { Key: keys.job('acc_1', 'job_1') })).toHaveLength(3);
  });

  it('answers 429 throttled with a Retry-After when the fault outlasts the budget, with no unit counted', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem()] } });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).rejects(throttled());
    const outcome = await run(authorizeUnits(deps, input, now));
    expect(outcome).toMatchObject({ error: { status: 429, code: 'throttled', retryAfterSeconds: 1 } });
    // The only write that went through is the claim: it counts nothing, and a retry of the nonce goes on from it.
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand, { Key: keys.authorization('acc_1', authorizationId) })).toHaveLength(0);
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
    expect(ddb.commandCalls(UpdateCommand, { Key: keys.authorization('acc_1', authorizationId) })).toHaveLength(0);
  });

  it('does not retry a failed condition as if it were a fault', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem()] } });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand, { Key: keys.job('acc_1', 'job_1') }).rejects(conditionFailed(jobItem({ status: 'paused' })));
    ddb.on(UpdateCommand, { Key: keys.authorization('acc_1', authorizationId) }).resolves({});
    const outcome = await run(authorizeUnits(deps, input, now));
    expect(outcome).toMatchObject({ error: { status: 409, code: 'job_paused' } });
    expect(ddb.commandCalls(UpdateCommand, { Key: keys.job('acc_1', 'job_1') })).toHaveLength(1);
  });
});

describe('recoverStaleReservations', () => {
  beforeEach(() => ddb.reset());

  it('rolls back a stale reservation whose claim is still pending, in one transaction with the claim', async () => {
    const staleName = keys.reservationAttribute(claimedAt - 120, authorizationId);
    ddb.on(GetCommand).resolves({ Item: { authorizationId, jobId: 'job_1', programmerId: 'prg_1', units: 3, run: 1, state: 'pending', claimedAt: claimedAt - 120 } });
    ddb.on(TransactWriteCommand).resolves({});
    const recovered = await recoverStaleReservations(db, 'acc_1', jobItem({ [staleName]: 4 }), now);
    expect(recovered).toBe(1);
    const [claimUpdate, jobUpdate] = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    expect(claimUpdate!.Update!.ConditionExpression).toBe('#state = :pending AND claimedAt = :claimedAt');
    expect(jobUpdate!.Update!.UpdateExpression).toBe('SET authorized = authorized - :units, updatedAt = :at REMOVE #rsv');
  });

  it('only removes the entry of a reservation that was granted, and leaves fresh ones alone', async () => {
    const staleName = keys.reservationAttribute(claimedAt - 120, authorizationId);
    ddb.on(GetCommand).resolves({ Item: { authorizationId, jobId: 'job_1', programmerId: 'prg_1', units: 3, run: 1, state: 'granted', claimedAt: claimedAt - 120 } });
    ddb.on(UpdateCommand).resolves({});
    await recoverStaleReservations(db, 'acc_1', jobItem({ [staleName]: 4, [keys.reservationAttribute(claimedAt - 5, 'auth_ffff')]: 9 }), now);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand)[0]!.args[0].input.UpdateExpression).toBe('REMOVE #rsv');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});
