import { createHash, randomBytes } from 'node:crypto';
import { ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { createS3Client } from '../../shared/store/clients.js';
import { call, createAccount, uniqueName } from '../support/api.js';

/**
 * The deployed verifier against real S3 events on the emulator: what it leaves in the images
 * bucket. Uploads go through the presigned URLs the API hands out, as a client's would.
 */
describe('image verifier on the deployed stack: what stays in the bucket', () => {
  let admin: string;
  let factoryId: string;
  let versionsOf: (imageId: string) => Promise<string[]>;
  /**
   * Bytes S3 did not check: the emulator refuses a presigned PUT whose body misses its signed
   * checksum (as AWS does), so the uploads the verifier must catch are written directly.
   */
  let putUnchecked: (imageId: string, bytes: Buffer) => Promise<void>;

  const register = async (bytes: Buffer) => {
    const response = await call('POST', 'v1/images', {
      token: admin,
      body: { name: uniqueName('Verifier'), factoryId, contentSha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length, delivery: 'cloud', encryptionKeyId: 'key-1' },
    });
    expect(response.status).toBe(201);
    return response.body as { image: { imageId: string }; job: { jobId: string }; upload: { url: string; headers: Record<string, string> } };
  };
  const put = async (upload: { url: string; headers: Record<string, string> }, bytes: Uint8Array) => {
    const response = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: new Uint8Array(bytes) });
    expect(response.status).toBe(200);
  };
  const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    for (let i = 0; i < 150; i += 1) {
      const value = await probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const imageWithStatus = (imageId: string, status: string) =>
    until(`image ${imageId} ${status}`, async () => {
      const response = await call('GET', `v1/images/${imageId}`, { token: admin });
      return response.body.image.status === status ? response.body.image : undefined;
    });
  const noVersionsLeft = (imageId: string) => until(`no versions of ${imageId}`, async () => ((await versionsOf(imageId)).length === 0 ? true : undefined));

  beforeAll(async () => {
    Object.assign(process.env, EMULATOR_AWS_ENV);
    const s3 = createS3Client();
    admin = (await createAccount(uniqueName('Verifier'))).token;
    const factory = await call('POST', 'v1/factories', { token: admin, body: { name: uniqueName('Factory') } });
    factoryId = factory.body.factory.factoryId;
    const accountId = (await call('GET', 'v1/account', { token: admin })).body.account.accountId as string;
    versionsOf = async (imageId) => {
      const key = `accounts/${accountId}/images/${imageId}`;
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: inject('imagesBucketName'), Prefix: key }));
      return (listed.Versions ?? []).filter((v) => v.Key === key).map((v) => v.VersionId as string);
    };
    putUnchecked = async (imageId, bytes) => {
      await s3.send(new PutObjectCommand({ Bucket: inject('imagesBucketName'), Key: `accounts/${accountId}/images/${imageId}`, Body: bytes }));
    };
  });

  it('deletes a rejected upload: no version of it is left', async () => {
    const expected = randomBytes(2048);
    const { image } = await register(expected);
    const corrupted = Buffer.from(expected);
    corrupted[0] = (corrupted[0] ?? 0) ^ 0xff;
    await putUnchecked(image.imageId, corrupted);
    const rejected = await imageWithStatus(image.imageId, 'rejected');
    expect(rejected.rejectionReason).toMatch(/SHA-256/);
    await noVersionsLeft(image.imageId);
  });

  it('deletes an upload that arrives after its job was deleted (an orphan), without verifying it', async () => {
    const bytes = randomBytes(1024);
    const { image, job, upload } = await register(bytes);
    expect((await call('DELETE', `v1/jobs/${job.jobId}`, { token: admin })).status).toBeLessThan(300);
    await put(upload, bytes);
    await noVersionsLeft(image.imageId);
    expect((await call('GET', `v1/images/${image.imageId}`, { token: admin })).body.image.status).toBe('pending_upload');
  });

  it('keeps the verified version when another upload lands on an available image', async () => {
    const bytes = randomBytes(1024);
    const { image, upload } = await register(bytes);
    await put(upload, bytes);
    await imageWithStatus(image.imageId, 'available');
    const [verified] = await versionsOf(image.imageId);
    expect(verified).toBeDefined();
    await putUnchecked(image.imageId, randomBytes(1024));
    await until('the extra version removed', async () => {
      const versions = await versionsOf(image.imageId);
      return versions.length === 1 && versions[0] === verified ? true : undefined;
    });
    expect((await call('GET', `v1/images/${image.imageId}`, { token: admin })).body.image.status).toBe('available');
  });
});
