import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient as SdkDynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient as SdkDocumentClient, GetCommand as SdkGetCommand, TransactWriteCommand as SdkTransactWriteCommand, UpdateCommand as SdkUpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoDBClient, DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '../../shared/aws-lean/dynamodb.js';
import { resolveEndpoint } from '../../shared/aws-lean/json-protocol.js';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '../../shared/aws-lean/kms.js';
import * as sharedRetry from '../../shared/retry.js';

// The lean clients must retry through the repository's one retry loop: watch it.
vi.mock('../../shared/retry.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../shared/retry.js')>();
  return { ...actual, retry: vi.fn(actual.retry) };
});

/**
 * The lean AWS clients of the device bundle (shared/aws-lean/) against a local HTTP server
 * playing DynamoDB and KMS: what they send, how they read answers and errors, when they retry.
 * Where the store depends on the SDK's behaviour, the real SDK is run against the same answers
 * and the two are compared.
 */
interface Seen {
  headers: IncomingHttpHeaders;
  body: string;
}
type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | 'reset';

const credentials = { accessKeyId: 'AKIDLEANTEST', secretAccessKey: 'secret', sessionToken: 'session-token' };
let server: Server;
let endpoint: string;
let answers: Answer[] = [];
let seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = answers.shift() ?? { status: 200, body: {} };
      if (answer === 'reset') {
        request.socket.destroy();
        return;
      }
      response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `req-${seen.length}`, ...answer.headers });
      response.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  answers = [];
  seen = [];
  // Zero backoff: the tests count attempts, not wait for them.
  vi.spyOn(Math, 'random').mockReturnValue(0);
  vi.mocked(sharedRetry.retry).mockClear();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const lean = () => DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1', endpoint, credentials, maxAttempts: 4 }), { marshallOptions: { removeUndefinedValues: true } });
const sdk = () => SdkDocumentClient.from(new SdkDynamoDBClient({ region: 'eu-west-1', endpoint, credentials, maxAttempts: 4 }), { marshallOptions: { removeUndefinedValues: true } });
const dynamoError = (type: string, members: Record<string, unknown> = {}, status = 400): Answer => ({
  status,
  body: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: `${type} happened`, ...members },
});
const caught = async (promise: Promise<unknown>) => promise.then(() => expect.unreachable('should have failed'), (error: unknown) => error as Record<string, any>);

describe('the lean DynamoDB document client', () => {
  it('sends a signed JSON-protocol request and unmarshalls the answer, capacity passed through', async () => {
    answers.push({ status: 200, body: { Item: { pk: { S: 'a' }, n: { N: '42' }, blob: { B: Buffer.from('hi').toString('base64') } }, ConsumedCapacity: { TableName: 't', CapacityUnits: 1 } } });
    const output = await lean().send(new GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }));

    expect(output.Item).toEqual({ pk: 'a', n: 42, blob: new Uint8Array(Buffer.from('hi')) });
    expect(output.ConsumedCapacity).toEqual({ TableName: 't', CapacityUnits: 1 });
    expect(output.$metadata).toMatchObject({ httpStatusCode: 200, requestId: 'req-1', attempts: 1 });
    const [request] = seen;
    expect(request!.headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
    expect(request!.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDLEANTEST\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=\S*x-amz-target\S*, Signature=[0-9a-f]{64}$/);
    expect(request!.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(request!.headers['x-amz-security-token']).toBe('session-token');
    expect(request!.headers.connection).toBe('keep-alive');
    expect(JSON.parse(request!.body)).toEqual({ TableName: 't', Key: { pk: { S: 'a' }, sk: { S: 'b' } }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' });
  });

  it('marshals every item position of a transaction, bytes as base64, undefined removed', async () => {
    await lean().send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: 't', Item: { pk: 'a', data: new Uint8Array([1, 2, 3]), gone: undefined }, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Update: { TableName: 't', Key: { pk: 'b' }, UpdateExpression: 'SET n = n + :one', ExpressionAttributeValues: { ':one': 1 } } },
          { ConditionCheck: { TableName: 't', Key: { pk: 'c' }, ConditionExpression: 'v = :v', ExpressionAttributeValues: { ':v': 'x' } } },
          { Delete: { TableName: 't', Key: { pk: 'd' } } },
        ],
      }),
    );
    expect(JSON.parse(seen[0]!.body).TransactItems).toEqual([
      { Put: { TableName: 't', Item: { pk: { S: 'a' }, data: { B: 'AQID' } }, ConditionExpression: 'attribute_not_exists(pk)' } },
      { Update: { TableName: 't', Key: { pk: { S: 'b' } }, UpdateExpression: 'SET n = n + :one', ExpressionAttributeValues: { ':one': { N: '1' } } } },
      { ConditionCheck: { TableName: 't', Key: { pk: { S: 'c' } }, ConditionExpression: 'v = :v', ExpressionAttributeValues: { ':v': { S: 'x' } } } },
      { Delete: { TableName: 't', Key: { pk: { S: 'd' } } } },
    ]);
  });

  it('throws a failed condition as the SDK does, once, with the old item', async () => {
    const answer = dynamoError('ConditionalCheckFailedException', { Item: { pk: { S: 'job' }, authorized: { N: '3' } } });
    const update = { TableName: 't', Key: { pk: 'job' }, UpdateExpression: 'SET a = :a', ConditionExpression: 'a < :a', ExpressionAttributeValues: { ':a': 1 }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } as const;

    answers.push(answer);
    const leanError = await caught(lean().send(new UpdateCommand(update)));
    answers.push(answer);
    const sdkError = await caught(sdk().send(new SdkUpdateCommand(update)));

    expect(seen).toHaveLength(2); // one attempt each: a failed condition is a decision, not a fault
    expect(leanError).toBeInstanceOf(Error);
    for (const error of [leanError, sdkError]) {
      expect(error.name).toBe('ConditionalCheckFailedException');
      expect(error.message).toBe('ConditionalCheckFailedException happened');
      expect(error.$fault).toBe('client');
      expect(error.$metadata).toMatchObject({ httpStatusCode: 400, attempts: 1 });
    }
    // lib-dynamodb converts successful outputs only: the item stays in AttributeValue form.
    expect(leanError.Item).toEqual(sdkError.Item);
    expect(leanError.Item).toEqual({ pk: { S: 'job' }, authorized: { N: '3' } });
  });

  it('throws a cancelled transaction with its reasons, items as the SDK gives them', async () => {
    const answer = dynamoError('TransactionCanceledException', {
      CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: { pk: { S: 'x' }, b: { B: 'AQID' } } }],
    });
    const input = { TransactItems: [{ Delete: { TableName: 't', Key: { pk: 'a' } } }, { ConditionCheck: { TableName: 't', Key: { pk: 'x' }, ConditionExpression: 'attribute_exists(pk)' } }] };

    answers.push(answer);
    const leanError = await caught(lean().send(new TransactWriteCommand(input)));
    answers.push(answer);
    const sdkError = await caught(sdk().send(new SdkTransactWriteCommand(input)));

    expect(seen).toHaveLength(2);
    expect(leanError.name).toBe('TransactionCanceledException');
    expect(leanError.CancellationReasons).toEqual(sdkError.CancellationReasons);
    expect(leanError.CancellationReasons[1]).toMatchObject({ Code: 'ConditionalCheckFailed', Item: { pk: { S: 'x' } } });
    expect(leanError.CancellationReasons[1].Item.b.B).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('reads the same outputs as the SDK', async () => {
    const answer: Answer = { status: 200, body: { Item: { pk: { S: 'a' }, tags: { SS: ['x', 'y'] }, nested: { M: { l: { L: [{ N: '1' }, { NULL: true }] } } }, bin: { BS: ['AQ=='] } } } };
    answers.push(answer, answer);
    const { $metadata: _lean, ...leanOutput } = await lean().send(new GetCommand({ TableName: 't', Key: { pk: 'a' } }));
    const { $metadata: _sdk, ...sdkOutput } = await sdk().send(new SdkGetCommand({ TableName: 't', Key: { pk: 'a' } }));
    expect(leanOutput).toEqual(sdkOutput);
  });

  it('retries server errors, throttling and dropped connections with the shared retry helper, up to maxAttempts', async () => {
    answers.push(dynamoError('InternalServerError', {}, 500), dynamoError('ProvisionedThroughputExceededException'), 'reset', { status: 200, body: { Attributes: { pk: { S: 'a' } } } });
    const output = await lean().send(new PutCommand({ TableName: 't', Item: { pk: 'a' }, ReturnValues: 'ALL_OLD' }));

    expect(output.Attributes).toEqual({ pk: 'a' });
    expect(output.$metadata.attempts).toBe(4);
    expect(seen.map((request) => request.headers['amz-sdk-request'])).toEqual(['attempt=1; max=4', 'attempt=2; max=4', 'attempt=3; max=4', 'attempt=4; max=4']);
    expect(new Set(seen.map((request) => request.headers['amz-sdk-invocation-id'])).size).toBe(1);
    expect(sharedRetry.retry).toHaveBeenCalledTimes(1);
    expect(vi.mocked(sharedRetry.retry).mock.calls[0]![1]).toMatchObject({ maxAttempts: 4 });
  });

  it('gives up after maxAttempts with the service error itself, as the SDK does', async () => {
    answers.push(...Array.from({ length: 5 }, () => dynamoError('ThrottlingException')));
    const error = await caught(lean().send(new GetCommand({ TableName: 't', Key: { pk: 'a' } })));
    expect(seen).toHaveLength(4);
    expect(error.name).toBe('ThrottlingException');
    expect(error.$metadata).toMatchObject({ httpStatusCode: 400, attempts: 4 });
  });

  it('does not retry a validation error', async () => {
    answers.push(dynamoError('ValidationException'));
    const error = await caught(lean().send(new GetCommand({ TableName: 't', Key: { pk: 'a' } })));
    expect([error.name, seen.length]).toEqual(['ValidationException', 1]);
  });

  it('names an error by x-amzn-errortype before the body, and a 5xx without a body by its status', async () => {
    answers.push({ status: 400, headers: { 'x-amzn-errortype': 'ResourceNotFoundException:http://internal.amazon.com/' }, body: { message: 'no table' } });
    const named = await caught(lean().send(new GetCommand({ TableName: 't', Key: { pk: 'a' } })));
    expect([named.name, named.message]).toEqual(['ResourceNotFoundException', 'no table']);

    answers.push(...Array.from({ length: 4 }, () => ({ status: 503 }) as Answer));
    const unavailable = await caught(lean().send(new GetCommand({ TableName: 't', Key: { pk: 'a' } })));
    expect([unavailable.name, unavailable.$fault, unavailable.$metadata.attempts]).toEqual(['Http503Error', 'server', 4]);
  });
});

describe('the lean KMS client', () => {
  const kms = () => new KMSClient({ region: 'eu-west-1', endpoint, credentials });

  it('signs bytes and returns the signature as bytes', async () => {
    answers.push({ status: 200, body: { KeyId: 'arn:key', Signature: Buffer.from([9, 8, 7]).toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' } });
    const output = await kms().send(new SignCommand({ KeyId: 'k', Message: Buffer.from('payload'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect(output.Signature).toEqual(new Uint8Array([9, 8, 7]));
    expect(output.KeyId).toBe('arn:key');
    expect(seen[0]!.headers['x-amz-target']).toBe('TrentService.Sign');
    expect(seen[0]!.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(seen[0]!.headers.authorization).toContain('/eu-west-1/kms/aws4_request');
    expect(JSON.parse(seen[0]!.body)).toEqual({ KeyId: 'k', Message: Buffer.from('payload').toString('base64'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' });
  });

  it('reads a public key and maps errors, retrying KMS internal errors (3 attempts by default)', async () => {
    answers.push({ status: 200, body: { KeyId: 'k', PublicKey: 'AAEC', KeySpec: 'ECC_NIST_P256' } });
    expect(await kms().send(new GetPublicKeyCommand({ KeyId: 'k' }))).toMatchObject({ PublicKey: new Uint8Array([0, 1, 2]), KeySpec: 'ECC_NIST_P256' });

    seen = [];
    answers.push(...Array.from({ length: 3 }, () => ({ status: 500, body: { __type: 'KMSInternalException', message: 'oops' } }) as Answer));
    const error = await caught(kms().send(new GetPublicKeyCommand({ KeyId: 'k' })));
    expect([error.name, error.$fault, seen.length]).toEqual(['KMSInternalException', 'server', 3]);

    answers.push({ status: 400, body: { __type: 'com.amazonaws.kms#NotFoundException', message: 'no key' } });
    expect((await caught(kms().send(new GetPublicKeyCommand({ KeyId: 'k' })))).name).toBe('NotFoundException');
  });
});

describe('endpoint selection', () => {
  it('takes the service variable, then AWS_ENDPOINT_URL, then the regional endpoint', () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', '');
    vi.stubEnv('AWS_ENDPOINT_URL_KMS', '');
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    expect(resolveEndpoint('dynamodb', 'eu-west-1').href).toBe('https://dynamodb.eu-west-1.amazonaws.com/');
    expect(resolveEndpoint('kms', 'cn-north-1').href).toBe('https://kms.cn-north-1.amazonaws.com.cn/');

    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:4566');
    expect(resolveEndpoint('dynamodb', 'eu-west-1').href).toBe('http://127.0.0.1:4566/');
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', 'http://localhost:8000');
    expect(resolveEndpoint('dynamodb', 'eu-west-1').href).toBe('http://localhost:8000/');
    expect(resolveEndpoint('kms', 'eu-west-1').href).toBe('http://127.0.0.1:4566/');
    vi.stubEnv('AWS_ENDPOINT_URL_KMS', 'http://localhost:9000');
    expect(resolveEndpoint('kms', 'eu-west-1').href).toBe('http://localhost:9000/');
    expect(resolveEndpoint('kms', 'eu-west-1', 'http://explicit:1').href).toBe('http://explicit:1/');
  });

  it('reads the region and endpoint from the environment, as in Lambda', async () => {
    vi.stubEnv('AWS_REGION', 'ap-south-1');
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoint);
    answers.push({ status: 200, body: {} });
    await DynamoDBDocumentClient.from(new DynamoDBClient({ credentials })).send(new GetCommand({ TableName: 't', Key: { pk: 'a' } }));
    expect(seen[0]!.headers.authorization).toContain('/ap-south-1/dynamodb/aws4_request');

    vi.stubEnv('AWS_REGION', '');
    expect(() => new KMSClient({ credentials })).toThrow(/Missing AWS_REGION/);
  });
});
