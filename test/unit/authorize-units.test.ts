import { createSign, generateKeyPairSync } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { BatchGetCommand, DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorizationIdFor, authorizeUnits } from '../../shared/store/authorizations.js';
import type { Db } from '../../shared/store/db.js';
import { keys } from '../../shared/store/keys.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';
import { SessionTicketSigner } from '../../shared/store/ticket-signer.js';

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const db: Db = { doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), table: 'entities', events: 'events' };
/** A fresh container's ticket signer: its first ticket costs one KMS Sign (the session key's certificate). */
const newTickets = () => new SessionTicketSigner(new KmsJwsSigner(new KMSClient({ region: 'us-east-1' }), 'ticket-key'));
const input = { accountId: 'acc_1', programmerId: 'prg_1', jobId: 'job_1', units: 3, nonce: 'nonce-0001' };

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

describe('authorizeUnits', () => {
  beforeEach(() => {
    ddb.reset();
    kms.reset();
    kms.on(GetPublicKeyCommand).resolves({ KeyId: 'key-1', PublicKey: publicKey.export({ format: 'der', type: 'spki' }) });
    kms.on(SignCommand).callsFake((command: { Message: Uint8Array }) => ({
      Signature: createSign('SHA256').update(Buffer.from(command.Message)).sign({ key: privateKey, dsaEncoding: 'der' }),
    }));
  });
  afterEach(() => {
    ddb.reset();
    kms.reset();
  });

  it('makes one batched read, one transaction and one KMS signature', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem()] } });
    ddb.on(TransactWriteCommand).resolves({});
    const signer = new KmsJwsSigner(new KMSClient({ region: 'us-east-1' }), 'key-1');
    await signer.jwk(); // the public key is fetched once per container, not per authorization

    const { authorization, created } = await authorizeUnits({ db, signer, tickets: newTickets() }, input);

    expect(created).toBe(true);
    expect(authorization.serials).toEqual(['SN-104', 'SN-105', 'SN-106']);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(kms.commandCalls(SignCommand)).toHaveLength(1);
    const [jobUpdate, authorizationPut] = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    // The job write is conditioned on exactly what the decision was made on.
    expect(jobUpdate!.Update!.ExpressionAttributeValues).toMatchObject({ ':firstIndex': 4, ':authorized': 4, ':nextIndex': 7, ':run': 1, ':units': 3 });
    expect(authorizationPut!.Put!.Item!.pk).toBe(keys.authorization('acc_1', authorizationIdFor('acc_1', 'prg_1', 'nonce-0001')).pk);
    expect(authorizationPut!.Put!.ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('reads again and takes the next serials after losing a race', async () => {
    ddb.on(BatchGetCommand)
      .resolvesOnce({ Responses: { entities: [programmerItem, jobItem()] } })
      .resolves({ Responses: { entities: [programmerItem, jobItem({ authorized: 6, nextSerialIndex: 6 })] } });
    const raceLost = Object.assign(new Error('cancelled'), { name: 'TransactionCanceledException', CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }] });
    ddb.on(TransactWriteCommand).rejectsOnce(raceLost).resolves({});
    const signer = new KmsJwsSigner(new KMSClient({ region: 'us-east-1' }), 'key-1');

    const { authorization } = await authorizeUnits({ db, signer, tickets: newTickets() }, input);

    expect(authorization.serials).toEqual(['SN-106', 'SN-107', 'SN-108']);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it('refuses without writing when the limit would be exceeded, saying what remains', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { entities: [programmerItem, jobItem({ authorized: 9, nextSerialIndex: 9 })] } });
    const signer = new KmsJwsSigner(new KMSClient({ region: 'us-east-1' }), 'key-1');
    await expect(authorizeUnits({ db, signer, tickets: newTickets() }, input)).rejects.toMatchObject({ status: 409, code: 'job_completed', details: { remaining: 1 } });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(kms.commandCalls(SignCommand)).toHaveLength(0);
  });
});
