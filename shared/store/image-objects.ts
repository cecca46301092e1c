import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { keys } from './keys.js';

/** Presigned URLs live minutes: long enough for a slow factory uplink, short enough to be useless when leaked. */
export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
export const DOWNLOAD_URL_TTL_SECONDS = 5 * 60;

export interface PresignedRequest {
  url: string;
  headers: Record<string, string>;
  expiresAt: string;
}

/** The encrypted images in S3, reached only through presigned URLs scoped to one object. */
export class ImageObjects {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /**
   * A PUT for exactly one object. The expected SHA-256 is a signed header, so S3 itself refuses
   * a body with another checksum (the verifier recomputes it anyway: emulators do not check).
   */
  async presignUpload(accountId: string, imageId: string, sha256Hex: string, now = new Date()): Promise<PresignedRequest> {
    const checksum = Buffer.from(sha256Hex, 'hex').toString('base64');
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: keys.imageObject(accountId, imageId),
      ContentType: 'application/octet-stream',
      ChecksumSHA256: checksum,
    });
    const url = await getSignedUrl(this.s3, command, {
      expiresIn: UPLOAD_URL_TTL_SECONDS,
      unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
      signableHeaders: new Set(['content-type', 'x-amz-checksum-sha256']),
    });
    return {
      url,
      headers: { 'content-type': 'application/octet-stream', 'x-amz-checksum-sha256': checksum },
      expiresAt: new Date(now.getTime() + UPLOAD_URL_TTL_SECONDS * 1000).toISOString(),
    };
  }

  async presignDownload(accountId: string, imageId: string, now = new Date()): Promise<PresignedRequest> {
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: keys.imageObject(accountId, imageId) }), {
      expiresIn: DOWNLOAD_URL_TTL_SECONDS,
    });
    return { url, headers: {}, expiresAt: new Date(now.getTime() + DOWNLOAD_URL_TTL_SECONDS * 1000).toISOString() };
  }

  /** Streams the object once and returns what it really is: size and SHA-256. */
  async digest(objectKey: string): Promise<{ sizeBytes: number; sha256: string }> {
    const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    if (!Body) throw new Error(`S3 returned no body for ${objectKey}`);
    const hash = createHash('sha256');
    let sizeBytes = 0;
    for await (const chunk of Body as Readable) {
      const bytes = chunk as Buffer;
      sizeBytes += bytes.length;
      hash.update(bytes);
    }
    return { sizeBytes, sha256: hash.digest('hex') };
  }

  async delete(accountId: string, imageId: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: keys.imageObject(accountId, imageId) }));
  }
}
