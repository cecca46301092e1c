import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/domain/errors.js';
import { revokeApiKey } from '../../shared/store/accounts.js';
import type { Db } from '../../shared/store/db.js';
import { ephemeralCursorCodec } from '../../shared/store/cursors.js';
import { createFactory, deleteFactory, renameFactory } from '../../shared/store/factories.js';

const ddb = mockClient(DynamoDBDocumentClient);
const db: Db = { doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), table: 'entities', events: 'events', cursors: ephemeralCursorCodec() };

/** What DynamoDB answers when items of a transaction fail: one reason per item, in order. */
function cancelled(...codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

const factoryItem = (overrides: Record<string, unknown> = {}) => ({
  pk: 'ACCT#acc_1',
  sk: 'FAC#fac_1',
  factoryId: 'fac_1',
  name: 'Line 1',
  isDefault: false,
  programmerCount: 0,
  openJobCount: 0,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
  ...overrides,
});

describe('store: factories and API keys against a mocked DynamoDB', () => {
  beforeEach(() => ddb.reset());
  afterEach(() => ddb.reset());

  describe('createFactory', () => {
    it('writes the factory, a name lock conditioned on absence and its audit record in one transaction', async () => {
      ddb.on(TransactWriteCommand).resolves({});
      const factory = await createFactory(db, 'acc_1', 'Line  One', 'key:key_1');
      expect(factory).toMatchObject({ name: 'Line  One', isDefault: false, programmerCount: 0, openJobCount: 0 });
      const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
      expect(items).toHaveLength(3);
      expect(items[0]?.Put).toMatchObject({ TableName: 'entities', Item: { pk: 'ACCT#acc_1', sk: 'FACNAME#line  one' }, ConditionExpression: 'attribute_not_exists(pk)' });
      expect(items[1]?.Put?.Item).toMatchObject({ pk: 'ACCT#acc_1', sk: `FAC#${factory.factoryId}` });
      expect(items[2]?.Put).toMatchObject({ TableName: 'events', Item: { action: 'factory.create', actor: 'key:key_1' } });
    });

    it('maps a cancelled name lock to 409 name_taken', async () => {
      ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None', 'None'));
      const error = await rejection(createFactory(db, 'acc_1', 'Line 1', 'key:key_1'));
      expect(error).toMatchObject({ status: 409, code: 'name_taken', details: { name: 'Line 1' } });
    });

    it('does not call a cancellation for another reason name_taken', async () => {
      ddb.on(TransactWriteCommand).rejects(cancelled('None', 'TransactionConflict', 'None'));
      await expect(createFactory(db, 'acc_1', 'Line 1', 'key:key_1')).rejects.toBeInstanceOf(TransactionCanceledException);
    });
  });

  describe('renameFactory', () => {
    it('maps a taken new name to 409 name_taken', async () => {
      ddb.on(GetCommand).resolves({ Item: factoryItem() });
      ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None', 'None', 'None'));
      expect(await rejection(renameFactory(db, 'acc_1', 'fac_1', 'Line 2', 'key:key_1'))).toMatchObject({ status: 409, code: 'name_taken' });
    });

    it('keeps the lock when only the case changes', async () => {
      ddb.on(GetCommand).resolves({ Item: factoryItem() });
      ddb.on(TransactWriteCommand).resolves({});
      expect(await renameFactory(db, 'acc_1', 'fac_1', 'LINE 1', 'key:key_1')).toMatchObject({ name: 'LINE 1' });
      const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
      expect(items.map((item) => Object.keys(item)[0])).toEqual(['Update', 'Put']);
    });
  });

  describe('deleteFactory', () => {
    it('maps a failed emptiness condition to 409 factory_not_empty with the counts', async () => {
      ddb
        .on(GetCommand)
        .resolvesOnce({ Item: factoryItem() })
        .resolves({ Item: factoryItem({ programmerCount: 2 }) });
      ddb.on(QueryCommand).resolves({ Items: [] });
      ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None', 'None'));
      const error = await rejection(deleteFactory(db, 'acc_1', 'fac_1', 'key:key_1'));
      expect(error).toMatchObject({ status: 409, code: 'factory_not_empty', details: { programmerCount: 2, openJobCount: 0 } });
      const condition = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[0]?.Delete?.ConditionExpression;
      expect(condition).toContain('programmerCount = :zero');
      expect(condition).toContain('openJobCount = :zero');
    });

    it('deletes the factory’s groups in its transaction, and reads them again when one was created meanwhile', async () => {
      const group = (groupId: string, name: string) => ({ pk: 'ACCT#acc_1', sk: `GRP#${groupId}`, groupId, factoryId: 'fac_1', name, createdAt: 't' });
      ddb.on(GetCommand).resolvesOnce({ Item: factoryItem({ groupsVersion: 1 }) }).resolves({ Item: factoryItem({ groupsVersion: 2 }) });
      ddb.on(QueryCommand).resolvesOnce({ Items: [group('grp_a', 'Day')] }).resolves({ Items: [group('grp_a', 'Day'), group('grp_b', 'Night')] });
      ddb.on(TransactWriteCommand).rejectsOnce(cancelled('ConditionalCheckFailed', 'None', 'None', 'None', 'None')).resolves({});
      await deleteFactory(db, 'acc_1', 'fac_1', 'key:key_1');
      const [first, second] = ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems!);
      expect(first![0]!.Delete).toMatchObject({ ConditionExpression: expect.stringContaining('groupsVersion = :groupsVersion'), ExpressionAttributeValues: { ':groupsVersion': 1 } });
      expect(second![0]!.Delete).toMatchObject({ ExpressionAttributeValues: { ':groupsVersion': 2 } });
      expect(second!.slice(3).map((item) => item.Delete?.Key)).toEqual([
        { pk: 'ACCT#acc_1', sk: 'GRP#grp_a' },
        { pk: 'ACCT#acc_1', sk: 'GRPNAME#fac_1#day' },
        { pk: 'ACCT#acc_1', sk: 'GRP#grp_b' },
        { pk: 'ACCT#acc_1', sk: 'GRPNAME#fac_1#night' },
      ]);
    });

    it('refuses the default factory with 409 default_factory without writing', async () => {
      ddb.on(GetCommand).resolves({ Item: factoryItem({ isDefault: true }) });
      expect(await rejection(deleteFactory(db, 'acc_1', 'fac_1', 'key:key_1'))).toMatchObject({ status: 409, code: 'default_factory' });
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    });

    it('answers 404 for a factory that is not in the caller\'s account', async () => {
      ddb.on(GetCommand).resolves({});
      expect(await rejection(deleteFactory(db, 'acc_2', 'fac_1', 'key:key_9'))).toMatchObject({ status: 404, code: 'not_found' });
      expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual({ pk: 'ACCT#acc_2', sk: 'FAC#fac_1' });
    });
  });

  describe('revokeApiKey', () => {
    const keyItem = (status: string) => ({ keyId: 'key_2', name: 'CI', role: 'author', status, createdAt: 't', createdBy: 'key:key_1', revokedAt: 't' });

    it('maps a key that is no longer active to 409 already_revoked', async () => {
      ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));
      ddb.on(GetCommand).resolves({ Item: keyItem('revoked') });
      expect(await rejection(revokeApiKey(db, 'acc_1', 'key_2', 'key:key_1'))).toMatchObject({ status: 409, code: 'already_revoked' });
    });

    it('answers 404 for a key that does not exist in the caller\'s account', async () => {
      ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));
      ddb.on(GetCommand).resolves({});
      expect(await rejection(revokeApiKey(db, 'acc_1', 'key_2', 'key:key_1'))).toMatchObject({ status: 404, code: 'not_found' });
    });

    it('does not report an active key as already revoked when the transaction failed for another reason', async () => {
      const conflict = cancelled('TransactionConflict', 'None');
      ddb.on(TransactWriteCommand).rejects(conflict);
      ddb.on(GetCommand).resolves({ Item: keyItem('active') });
      await expect(revokeApiKey(db, 'acc_1', 'key_2', 'key:key_1')).rejects.toBe(conflict);
    });

    it('returns the revoked key, read back consistently', async () => {
      ddb.on(TransactWriteCommand).resolves({});
      ddb.on(GetCommand).resolves({ Item: keyItem('revoked') });
      expect(await revokeApiKey(db, 'acc_1', 'key_2', 'key:key_1')).toMatchObject({ keyId: 'key_2', status: 'revoked' });
      expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ Key: { pk: 'ACCT#acc_1', sk: 'KEY#key_2' }, ConsistentRead: true });
    });
  });
});
