import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, S3Event } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaContext } from '../support/lambda-context.js';

process.env.TABLE_NAME = 'entities';
process.env.EVENTS_TABLE_NAME = 'events';
process.env.IMAGES_BUCKET = 'images';

const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBDocumentClient);
let handler: (event: S3Event, context: Context) => Promise<void>;
const invoke = (request: S3Event) => handler(request, lambdaContext('ImageVerifier'));

const KEY = 'accounts/acc_1/images/img_1';
const VERSION = 'v-2';
const body = Buffer.from('encrypted image bytes');
const sha256 = createHash('sha256').update(body).digest('hex');
const event = (key: string, versionId: string | null = VERSION) => ({ Records: [{ s3: { object: { key, versionId: versionId ?? undefined } } }] }) as unknown as S3Event;
const named = (name: string) => Object.assign(new Error(name), { name });

const imageItem = (overrides: Record<string, unknown> = {}) => ({
  pk: 'ACCT#acc_1',
  sk: 'IMG#img_1',
  imageId: 'img_1',
  jobId: 'job_1',
  factoryId: 'fac_1',
  name: 'x',
  contentSha256: sha256,
  sizeBytes: body.length,
  delivery: 'cloud',
  status: 'pending_upload',
  createdAt: 't',
  updatedAt: 't',
  ...overrides,
});

/** The table as the verifier reads it: the image and its job, by sort key. */
function table(image: Record<string, unknown> | undefined, job: Record<string, unknown> | null = { status: 'active', imageId: 'img_1' }): void {
  ddb.on(GetCommand).callsFake((input: { Key: { sk: string } }) => ({ Item: input.Key.sk.startsWith('IMG#') ? image : (job ?? undefined) }));
}

const deletes = () => s3.commandCalls(DeleteObjectCommand).map((call) => call.args[0].input);
const verdict = () => ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input).find((input) => String(input.UpdateExpression).includes('#status'));

describe('image verifier', () => {
  beforeAll(async () => {
    ({ handler } = await import('../../functions/image-verifier/index.js'));
  });

  beforeEach(() => {
    s3.reset();
    ddb.reset();
    s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([body.subarray(0, 5), body.subarray(5)]) }));
    s3.on(DeleteObjectCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
  });
  afterEach(() => {
    s3.reset();
    ddb.reset();
  });

  it('marks a matching upload available, hashing the version the event names and recording it', async () => {
    table(imageItem());
    await invoke(event(KEY));
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({ Bucket: 'images', Key: KEY, VersionId: VERSION });
    const update = verdict();
    expect(update?.Key).toEqual({ pk: 'ACCT#acc_1', sk: 'IMG#img_1' });
    expect(update?.ExpressionAttributeValues).toMatchObject({ ':available': 'available', ':version': VERSION, ':pending': 'pending_upload' });
    expect(update?.ConditionExpression).toBe('#status = :pending');
    // Reads are consistent: a verdict on a stale image could resurrect a deleted job's upload.
    expect(ddb.commandCalls(GetCommand).every((call) => call.args[0].input.ConsistentRead)).toBe(true);
    expect(deletes()).toEqual([]);
  });

  it('rejects an upload whose checksum or size differs, saying why, and deletes that version', async () => {
    table(imageItem({ contentSha256: 'f'.repeat(64), sizeBytes: 3 }));
    await invoke(event(KEY));
    const values = verdict()?.ExpressionAttributeValues;
    expect(values?.[':rejected']).toBe('rejected');
    expect(values?.[':reason']).toMatch(/size .* expected 3; SHA-256/);
    expect(deletes()).toEqual([{ Bucket: 'images', Key: KEY, VersionId: VERSION }]);
  });

  it.each([
    ['rejected', true],
    ['registered', true],
  ])('does not hash an object whose image is %s, and deletes it', async (status, deleted) => {
    table(imageItem({ status }));
    await invoke(event(KEY));
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(verdict()).toBeUndefined();
    expect(deletes().length > 0).toBe(deleted);
  });

  it('keeps the version an available image was verified with (a repeated event changes nothing)', async () => {
    table(imageItem({ status: 'available', objectVersionId: VERSION }));
    await invoke(event(KEY));
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(deletes()).toEqual([]);
  });

  it('deletes a second upload over an available image, which makes the verified version current again', async () => {
    table(imageItem({ status: 'available', objectVersionId: 'v-1' }));
    await invoke(event(KEY));
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(deletes()).toEqual([{ Bucket: 'images', Key: KEY, VersionId: VERSION }]);
  });

  it('deletes the object of an unknown image (orphan) without hashing it', async () => {
    table(undefined);
    await invoke(event(KEY));
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(deletes()).toEqual([{ Bucket: 'images', Key: KEY, VersionId: VERSION }]);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it.each([
    ['deleted', { status: 'deleted', imageId: 'img_1' }],
    ['missing', null],
    ['now holding another image (replaced)', { status: 'active', imageId: 'img_2' }],
  ])('deletes an upload whose job is %s, even while the image waits for it', async (_label, job) => {
    table(imageItem(), job);
    await invoke(event(KEY));
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(deletes()).toEqual([{ Bucket: 'images', Key: KEY, VersionId: VERSION }]);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('decides again when another verdict wins the race, and then deletes its extra version', async () => {
    let reads = 0;
    ddb.on(GetCommand).callsFake((input: { Key: { sk: string } }) => {
      if (!input.Key.sk.startsWith('IMG#')) return { Item: { status: 'active', imageId: 'img_1' } };
      reads += 1;
      return { Item: reads === 1 ? imageItem() : imageItem({ status: 'available', objectVersionId: 'v-1' }) };
    });
    ddb.on(UpdateCommand).rejects(named('ConditionalCheckFailedException'));
    await invoke(event(KEY));
    expect(reads).toBe(2);
    expect(deletes()).toEqual([{ Bucket: 'images', Key: KEY, VersionId: VERSION }]);
  });

  it('leaves the image pending when the version vanished before it could be read', async () => {
    table(imageItem());
    s3.on(GetObjectCommand).rejects(named('NoSuchVersion'));
    await invoke(event(KEY));
    expect(verdict()).toBeUndefined();
    expect(deletes()).toEqual([]);
  });

  it('fails visibly on an unexpected error: the invocation fails (retry, then the DLQ) and the pending image says why', async () => {
    table(imageItem());
    s3.on(GetObjectCommand).rejects(named('KMS.DisabledException'));
    await expect(invoke(event(KEY))).rejects.toThrow('KMS.DisabledException');
    const note = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(note?.UpdateExpression).toBe('SET verificationError = :error');
    expect(note?.ConditionExpression).toBe('#status = :pending');
    expect(note?.ExpressionAttributeValues?.[':error']).toMatchObject({ versionId: VERSION, message: expect.stringContaining('KMS.DisabledException') });
  });

  it('verifies the other records of an event before failing for the one that failed', async () => {
    table(imageItem());
    const records = { Records: [...event('accounts/acc_1/images/img_9', null).Records, ...event(KEY).Records] } as S3Event;
    await expect(invoke(records)).rejects.toThrow(/No versionId/);
    expect(verdict()?.ExpressionAttributeValues?.[':available']).toBe('available');
  });

  it('ignores objects outside the image layout without touching the table', async () => {
    await invoke(event('somewhere/else.bin'));
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    expect(deletes()).toEqual([]);
  });
});
