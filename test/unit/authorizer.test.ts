import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEvent, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatToken, hashSecret, newSecret } from '../../shared/domain/tokens.js';
import { logger } from '../../shared/http/logger.js';
import { principalFromContext } from '../../shared/http/principal.js';
import { lambdaContext } from '../support/lambda-context.js';

process.env.TABLE_NAME = 'entities';

const ddb = mockClient(DynamoDBDocumentClient);
let handler: typeof import('../../functions/authorizer/index.js').handler;
/** The HTTP API's event gets a simple response. */
const invoke = async (request: APIGatewayRequestAuthorizerEventV2) => {
  const result = await handler(request, lambdaContext('Authorizer'));
  if (!('isAuthorized' in result)) throw new Error('an HTTP API authorizer event got an IAM policy');
  return result;
};
/** The REST API's event gets an IAM policy. */
const invokeRest = async (request: APIGatewayRequestAuthorizerEvent) => {
  const result = await handler(request, lambdaContext('Authorizer'));
  if (!('policyDocument' in result)) throw new Error('a REST API authorizer event got a simple response');
  return result;
};

const secret = newSecret();
const keyToken = formatToken('key', 'acc_1', 'key_1', secret);
const programmerToken = formatToken('programmer', 'acc_1', 'prg_1', secret);

const event = (authorization: string | undefined) =>
  ({ type: 'REQUEST', routeKey: 'ANY /v1/{proxy+}', headers: authorization === undefined ? {} : { authorization } }) as unknown as APIGatewayRequestAuthorizerEventV2;

describe('the authorizer', () => {
  beforeAll(async () => {
    ({ handler } = await import('../../functions/authorizer/index.js'));
  });
  beforeEach(() => {
    ddb.reset();
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
  });
  afterEach(() => {
    ddb.reset();
    vi.restoreAllMocks();
  });

  it('resolves an active API key to an account principal with its role, in one consistent read', async () => {
    ddb.on(GetCommand, { Key: { pk: 'ACCT#acc_1', sk: 'KEY#key_1' } }).resolves({ Item: { secretHash: hashSecret(secret), status: 'active', role: 'author' } });
    const result = await invoke(event(`Bearer ${keyToken}`));
    expect(result.isAuthorized).toBe(true);
    expect(principalFromContext(result.context)).toEqual({ kind: 'account', accountId: 'acc_1', role: 'author', via: 'key', keyId: 'key_1' });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ TableName: 'entities', ConsistentRead: true });
  });

  it('resolves a programmer token to a programmer principal', async () => {
    ddb.on(GetCommand, { Key: { pk: 'ACCT#acc_1', sk: 'PRG#prg_1' } }).resolves({ Item: { secretHash: hashSecret(secret), status: 'disabled', programmerId: 'prg_1' } });
    const result = await invoke(event(`Bearer ${programmerToken}`));
    expect(principalFromContext(result.context)).toEqual({ kind: 'programmer', accountId: 'acc_1', programmerId: 'prg_1', credentialId: 'prg_1' });
  });

  it.each([
    ['a revoked key', { secretHash: hashSecret(secret), status: 'revoked', role: 'admin' }],
    ['a wrong secret', { secretHash: hashSecret(newSecret()), status: 'active', role: 'admin' }],
    ['an unknown key', undefined],
    ['a stored item without a hash', { status: 'active', role: 'admin' }],
  ])('says nobody for %s', async (_what, item) => {
    ddb.on(GetCommand).resolves({ Item: item });
    const result = await invoke(event(`Bearer ${keyToken}`));
    expect(result).toEqual({ isAuthorized: true, context: { kind: 'anonymous' } });
    expect(principalFromContext(result.context)).toBeUndefined();
  });

  it.each([undefined, '', 'Bearer', 'Basic abc', 'Bearer flk.acc_1.key_1.short', `Bearer ${keyToken.replace('flk', 'flx')}`])(
    'says nobody, without reading the table, for the header %j',
    async (header) => {
      const result = await invoke(event(header));
      expect(result.context).toEqual({ kind: 'anonymous' });
      expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    },
  );

  it('never lets a key token read a programmer item, nor the other way round', async () => {
    ddb.on(GetCommand).resolves({});
    await invoke(event(`Bearer ${formatToken('key', 'acc_1', 'prg_1', secret)}`));
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual({ pk: 'ACCT#acc_1', sk: 'KEY#prg_1' });
  });

  describe('the authorizer behind a REST API', () => {
    const methodArn = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/api/POST/v1/device/authorizations';
    const restEvent = (authorization: string | undefined) =>
      ({ type: 'REQUEST', methodArn, headers: authorization === undefined ? {} : { Authorization: authorization }, requestContext: { requestId: 'r-1' } }) as unknown as APIGatewayRequestAuthorizerEvent;

    it('answers with a policy allowing the whole stage (it is cached per header) and the principal as context', async () => {
      ddb.on(GetCommand, { Key: { pk: 'ACCT#acc_1', sk: 'PRG#prg_1' } }).resolves({ Item: { secretHash: hashSecret(secret), status: 'active', programmerId: 'prg_1' } });
      const result = await invokeRest(restEvent(`Bearer ${programmerToken}`));
      expect(result.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/api/*' }]);
      expect(result.principalId).toBe('acc_1');
      expect(principalFromContext(result.context ?? undefined)).toEqual({ kind: 'programmer', accountId: 'acc_1', programmerId: 'prg_1', credentialId: 'prg_1' });
    });

    it('lets an unknown token through as nobody: the function answers 401 in the contract error body', async () => {
      ddb.on(GetCommand).resolves({});
      const result = await invokeRest(restEvent(`Bearer ${keyToken}`));
      expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
      expect(result.context).toEqual({ kind: 'anonymous' });
      expect(principalFromContext(result.context ?? undefined)).toBeUndefined();
    });
  });
});
