import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DOWNLOAD_URL_TTL_SECONDS, ImageUrls, UPLOAD_URL_TTL_SECONDS } from '../../shared/store/image-objects.js';
import { keys } from '../../shared/store/keys.js';

/**
 * The presigned URLs are made with the SDK's SigV4 signer alone (no S3 client in the device
 * function). They must be exactly what the S3 client + `@aws-sdk/s3-request-presigner` make
 * for the same object, credentials and instant, on AWS and against an emulator endpoint.
 */
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session/token+=' };
const now = new Date('2026-03-04T05:06:07Z');
const bucket = 'flashline-imagesbucket-1a2b3c4d';
const sha256Hex = 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9';

function sdkClient(endpoint?: string): S3Client {
  return new S3Client({
    region: 'eu-central-1',
    credentials,
    ...(endpoint && { endpoint, forcePathStyle: true }),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function sdkDownloadUrl(s3: S3Client, key: string): Promise<string> {
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: DOWNLOAD_URL_TTL_SECONDS, signingDate: now });
}

async function sdkUploadUrl(s3: S3Client, key: string): Promise<string> {
  const command = new PutObjectCommand({
    Bucket: bucket,
    Key: key,
    ContentType: 'application/octet-stream',
    ChecksumSHA256: Buffer.from(sha256Hex, 'hex').toString('base64'),
  });
  return getSignedUrl(s3, command, {
    expiresIn: UPLOAD_URL_TTL_SECONDS,
    signingDate: now,
    unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
    signableHeaders: new Set(['content-type', 'x-amz-checksum-sha256']),
  });
}

describe('presigned image URLs', () => {
  afterEach(() => vi.unstubAllEnvs());

  for (const endpoint of [undefined, 'http://127.0.0.1:4566', 'https://s3.example.test:8443/base']) {
    describe(endpoint ? `against the endpoint ${endpoint} (path-style)` : 'on AWS (virtual-hosted)', () => {
      const urls = new ImageUrls(bucket, { region: 'eu-central-1', endpoint, credentials: async () => credentials });

      it('signs the download exactly as the S3 presigner does', async () => {
        const ours = await urls.presignDownload('acc_1', 'img_1', now);
        expect(ours.url).toBe(await sdkDownloadUrl(sdkClient(endpoint), keys.imageObject('acc_1', 'img_1')));
        expect(ours).toMatchObject({ headers: {}, expiresAt: '2026-03-04T05:11:07.000Z' });
      });

      it('signs the upload, content type and SHA-256 included, exactly as the S3 presigner does', async () => {
        const ours = await urls.presignUpload('acc_1', 'img_1', sha256Hex, now);
        expect(ours.url).toBe(await sdkUploadUrl(sdkClient(endpoint), keys.imageObject('acc_1', 'img_1')));
        expect(new URL(ours.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host;x-amz-checksum-sha256');
        expect(ours.headers).toEqual({ 'content-type': 'application/octet-stream', 'x-amz-checksum-sha256': Buffer.from(sha256Hex, 'hex').toString('base64') });
        expect(ours.expiresAt).toBe('2026-03-04T05:21:07.000Z');
      });
    });
  }

  it('escapes key segments as the S3 client does', async () => {
    const urls = new ImageUrls(bucket, { region: 'eu-central-1', credentials: async () => credentials });
    const key = "accounts/a b/images/it's (1)*+é";
    const ours = await (urls as unknown as { presign: (...args: unknown[]) => Promise<string> }).presign('GET', key, 'GetObject', {}, DOWNLOAD_URL_TTL_SECONDS, now);
    expect(ours).toBe(await sdkDownloadUrl(sdkClient(), key));
  });

  it('takes the endpoint from AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL, and the region from AWS_REGION', async () => {
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:4566');
    vi.stubEnv('AWS_ENDPOINT_URL_S3', 'http://127.0.0.1:9000');
    const { url } = await new ImageUrls(bucket, { credentials: async () => credentials }).presignDownload('acc_1', 'img_1', now);
    expect(url).toBe(await sdkDownloadUrl(sdkClient('http://127.0.0.1:9000'), keys.imageObject('acc_1', 'img_1')));
  });

  it('refuses to start without a region', () => {
    vi.stubEnv('AWS_REGION', '');
    expect(() => new ImageUrls(bucket, { credentials: async () => credentials })).toThrow(/AWS_REGION/);
  });
});
