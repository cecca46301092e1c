import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { formatUrl } from '@aws-sdk/core/util';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest, extendedEncodeURIComponent } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { keys } from './keys.js';
import { s3Endpoint } from './clients.js';

/** Presigned URLs live minutes: long enough for a slow factory uplink, short enough to be useless when leaked. */
export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
export const DOWNLOAD_URL_TTL_SECONDS = 5 * 60;
/** A manifest of a large job is fetched once by a person or a script: a quarter of an hour. */
export const MANIFEST_URL_TTL_SECONDS = 15 * 60;

export interface PresignedRequest {
  url: string;
  headers: Record<string, string>;
  expiresAt: string;
}

export interface ImageUrlsOptions {
  /** Defaults to AWS_REGION. */
  region?: string;
  /** Defaults to AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL (path-style), then the bucket's AWS host. */
  endpoint?: string;
  /** Defaults to the SDK's default chain (in Lambda bundles: the environment, see functions/env-credentials.ts). */
  credentials?: AwsCredentialIdentityProvider;
}

/**
 * Presigned URLs for the encrypted images, each scoped to one object, made with the SDK's own
 * SigV4 signer as `@aws-sdk/s3-request-presigner` makes them (test/unit/image-urls.test.ts
 * proves the URLs are the same), without an S3 client: the device function only hands out
 * download URLs, and the S3 client with its XML protocol and checksum layers was about a
 * quarter of its bundle.
 */
export class ImageUrls {
  private readonly signer: SignatureV4;
  private readonly endpoint: URL;
  private readonly pathStyle: boolean;

  constructor(
    private readonly bucket: string,
    options: ImageUrlsOptions = {},
  ) {
    const region = options.region ?? process.env.AWS_REGION;
    if (!region) throw new Error('Missing AWS_REGION: presigned S3 URLs are signed for one region');
    const custom = options.endpoint ?? s3Endpoint();
    // Custom endpoints (emulators) take the bucket in the path, as the S3 client with forcePathStyle does.
    this.pathStyle = Boolean(custom) || !isVirtualHostable(bucket);
    this.endpoint = new URL(custom ?? `https://s3.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`);
    this.signer = new SignatureV4({
      service: 's3',
      region,
      credentials: options.credentials ?? defaultProvider(),
      sha256: Sha256,
      // S3 signs the path as sent (no double encoding), like the S3 client's signer.
      uriEscapePath: false,
      applyChecksum: false,
    });
  }

  /**
   * A PUT for exactly one object. The expected SHA-256 is a signed header, so S3 itself refuses
   * a body with another checksum (the verifier recomputes it anyway: emulators do not check).
   */
  presignUpload(accountId: string, imageId: string, sha256Hex: string, now = new Date()): Promise<PresignedRequest> {
    return this.presignObjectUpload(keys.imageObject(accountId, imageId), sha256Hex, now);
  }

  /** The same for any object of the bucket's layout (a data list's rows file). */
  async presignObjectUpload(objectKey: string, sha256Hex: string, now = new Date()): Promise<PresignedRequest> {
    const checksum = Buffer.from(sha256Hex, 'hex').toString('base64');
    const headers = { 'content-type': 'application/octet-stream', 'x-amz-checksum-sha256': checksum };
    const url = await this.presign('PUT', objectKey, 'PutObject', headers, UPLOAD_URL_TTL_SECONDS, now);
    return { url, headers, expiresAt: new Date(now.getTime() + UPLOAD_URL_TTL_SECONDS * 1000).toISOString() };
  }

  async presignDownload(accountId: string, imageId: string, now = new Date()): Promise<PresignedRequest> {
    return this.presignObjectDownload(keys.imageObject(accountId, imageId), DOWNLOAD_URL_TTL_SECONDS, now);
  }

  async presignObjectDownload(objectKey: string, ttlSeconds: number, now = new Date()): Promise<PresignedRequest> {
    const url = await this.presign('GET', objectKey, 'GetObject', {}, ttlSeconds, now);
    return { url, headers: {}, expiresAt: new Date(now.getTime() + ttlSeconds * 1000).toISOString() };
  }

  private async presign(method: 'GET' | 'PUT', key: string, operation: string, headers: Record<string, string>, expiresIn: number, signingDate: Date): Promise<string> {
    const encodedKey = key.split('/').map(extendedEncodeURIComponent).join('/');
    const basePath = this.endpoint.pathname.replace(/\/$/, '');
    const hostname = this.pathStyle ? this.endpoint.hostname : `${this.bucket}.${this.endpoint.hostname}`;
    const port = this.endpoint.port ? Number(this.endpoint.port) : undefined;
    const request = new HttpRequest({
      method,
      protocol: this.endpoint.protocol,
      hostname,
      port,
      path: this.pathStyle ? `${basePath}/${this.bucket}/${encodedKey}` : `${basePath}/${encodedKey}`,
      // `x-id` names the operation as the SDK's own URLs do; S3 ignores it.
      query: { 'x-id': operation },
      headers: {
        ...headers,
        host: port === undefined ? hostname : `${hostname}:${port}`,
        // The body is not part of the signature: the caller sends it later (its checksum is a signed header).
        'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
      },
    });
    const signed = await this.signer.presign(request, {
      expiresIn,
      signingDate,
      // Headers the caller must send as they are, not as query parameters.
      unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
      signableHeaders: new Set(Object.keys(headers)),
    });
    return formatUrl(signed);
  }
}

/** DNS-compatible bucket names without dots work as `{bucket}.s3.{region}.amazonaws.com` over TLS. */
function isVirtualHostable(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
}

/**
 * What only the S3 client does (reading an upload back, deleting an image), plus the presigned
 * URLs of `ImageUrls`, made on first use: the image verifier never presigns and needs no region.
 */
export class ImageObjects {
  private urls?: ImageUrls;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly urlsOptions: ImageUrlsOptions = {},
  ) {}

  presignUpload(accountId: string, imageId: string, sha256Hex: string, now = new Date()): Promise<PresignedRequest> {
    return this.presigner().presignUpload(accountId, imageId, sha256Hex, now);
  }

  presignDownload(accountId: string, imageId: string, now = new Date()): Promise<PresignedRequest> {
    return this.presigner().presignDownload(accountId, imageId, now);
  }

  presignDataListUpload(accountId: string, dataListId: string, uploadId: string, sha256Hex: string, now = new Date()): Promise<PresignedRequest> {
    return this.presigner().presignObjectUpload(keys.dataListObject(accountId, dataListId, uploadId), sha256Hex, now);
  }

  /** One version's bytes, whole (a data list's rows file: the processor parses all of it before storing any). */
  async read(objectKey: string, versionId: string): Promise<{ sizeBytes: number; sha256: string; text: string }> {
    const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, VersionId: versionId }));
    if (!Body) throw new Error(`S3 returned no body for ${objectKey} version ${versionId}`);
    const chunks: Buffer[] = [];
    for await (const chunk of Body as Readable) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    return { sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), text: bytes.toString('utf8') };
  }

  /**
   * Streams one version of an object once and returns what it really is: size and SHA-256. The
   * version is the one an upload event names: a later PUT to the same key must not be hashed
   * in its place (the verdict would then describe bytes other than the event's).
   */
  async digest(objectKey: string, versionId: string): Promise<{ sizeBytes: number; sha256: string }> {
    const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, VersionId: versionId }));
    if (!Body) throw new Error(`S3 returned no body for ${objectKey} version ${versionId}`);
    const hash = createHash('sha256');
    let sizeBytes = 0;
    for await (const chunk of Body as Readable) {
      const bytes = chunk as Buffer;
      sizeBytes += bytes.length;
      hash.update(bytes);
    }
    return { sizeBytes, sha256: hash.digest('hex') };
  }

  /**
   * Removes one version for good (the bucket is versioned: a plain delete would only hide it
   * behind a delete marker and keep its bytes 30 days). Deleting the current version makes the
   * previous one current again, so an unwanted upload over a verified image restores the image.
   */
  async deleteVersion(objectKey: string, versionId: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey, VersionId: versionId }));
  }

  /**
   * A job's manifest too large to answer inline, stored under its own SHA-256 (the same lines
   * always land on the same key) and handed out as a presigned GET.
   */
  async storeManifest(accountId: string, jobId: string, sha256Hex: string, manifest: string, now = new Date()): Promise<PresignedRequest> {
    const objectKey = keys.manifestObject(accountId, jobId, sha256Hex);
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: manifest, ContentType: 'application/x-ndjson' }));
    return this.presigner().presignObjectDownload(objectKey, MANIFEST_URL_TTL_SECONDS, now);
  }

  async delete(accountId: string, imageId: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: keys.imageObject(accountId, imageId) }));
  }

  private presigner(): ImageUrls {
    this.urls ??= new ImageUrls(this.bucket, this.urlsOptions);
    return this.urls;
  }
}
