import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

process.env.TABLE_NAME = 'entities';
process.env.EVENTS_TABLE_NAME = 'events';
process.env.IMAGES_BUCKET = 'images';

const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBDocumentClient);
let handler: (event: S3Event) => Promise<void>;

const body = Buffer.from('encrypted image bytes');
const sha256 = createHash('sha256').update(body).digest('hex');
const event = (key: string) => ({ Records: [{ s3: { object: { key } } }] }) as unknown as S3Event;

describe('image verifier', () => {
  beforeAll(async () => {
    ({ handler } = await import('../../functions/image-verifier/index.js'));
  });

  beforeEach(() => {
    s3.reset();
    ddb.reset();
    s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([body.subarray(0, 5), body.subarray(5)]) }));
    ddb.on(UpdateCommand).resolves({});
  });
  afterEach(() => {
    s3.reset();
    ddb.reset();
  });

  const imageItem = (overrides: Record<string, unknown> = {}) => ({
    Item: { imageId: 'img_1', jobId: 'job_1', factoryId: 'fac_1', name: 'x', contentSha256: sha256, sizeBytes: body.length, delivery: 'cloud', status: 'pending_upload', createdAt: 't', updatedAt: 't', ...overrides },
  });

  it('marks a matching upload available, computing size and SHA-256 itself', async () => {
    ddb.on(GetCommand).resolves(imageItem());
    await handler(event('accounts/acc_1/images/img_1'));
    const update = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(update?.Key).toEqual({ pk: 'ACCT#acc_1', sk: 'IMG#img_1' });
    expect(update?.ExpressionAttributeValues?.[':status']).toBe('available');
    expect(update?.ConditionExpression).toContain(':pending');
  });

  it('rejects an upload whose checksum or size differs, saying why', async () => {
    ddb.on(GetCommand).resolves(imageItem({ contentSha256: 'f'.repeat(64), sizeBytes: 3 }));
    await handler(event('accounts/acc_1/images/img_1'));
    const values = ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues;
    expect(values?.[':status']).toBe('rejected');
    expect(values?.[':reason']).toMatch(/size .* expected 3; SHA-256/);
  });

  it('ignores objects outside the image layout without touching the table', async () => {
    await handler(event('somewhere/else.bin'));
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});
