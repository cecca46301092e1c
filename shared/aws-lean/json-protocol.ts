import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { DEFAULT_RETRY_DELAY_BASE, MAXIMUM_RETRY_DELAY, THROTTLING_RETRY_DELAY_BASE, isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { RetriesExhaustedError, backoffDelayMs, retry } from '../retry.js';
import { recordAwsCall } from './xray.js';

/**
 * The AWS JSON protocol (awsJson1_0 for DynamoDB, awsJson1_1 for KMS) as the device function
 * needs it, without the SDK's client runtime: the SDK's DynamoDB and KMS clients bring
 * @smithy/core's schema serde, middleware stack, endpoint rules and config resolvers, ~180 kB
 * of the device bundle and a third of its module init, to make what is one signed
 * `POST /` with an `X-Amz-Target` header. This module makes that call:
 *
 * - signing: the SDK's own SigV4 signer (`@smithy/signature-v4`), re-signed per attempt;
 * - credentials: `@aws-sdk/credential-provider-node`, which the Lambda bundles alias to the
 *   env-only provider (functions/env-credentials.ts) as they do for every SDK client;
 * - endpoint: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, else the regional endpoint;
 * - transport: node:http(s) with keep-alive agents (one TLS handshake per container, as the
 *   SDK's NodeHttpHandler does);
 * - retries: the repository's one retry loop (shared/retry.ts) with the SDK's standard policy:
 *   `maxAttempts` in all (SDK default 3), full-jitter backoff from 100 ms (500 ms for
 *   throttling) up to 20 s, and the SDK's own error classification from `@smithy/core/retry`
 *   (throttling codes and 429, 5xx, timeouts and network errors);
 * - errors: as the SDK throws them: an Error named by the error type (`x-amzn-errortype` or
 *   `__type`, namespace stripped), `$fault`, `$metadata`, and every member of the error body
 *   (`CancellationReasons`, `Item`, …) on the error object.
 *
 * Not covered (the SDK has them; the device function does not need them): the retry quota
 * (token bucket), clock-skew correction, FIPS/dual-stack endpoints, endpoint discovery,
 * `x-amz-crc32` response checks, middleware.
 */

export interface LeanClientConfig {
  region?: string;
  /** Overrides the endpoint variables, as the SDK's `endpoint` option does. */
  endpoint?: string;
  /** Attempts in all, the first included (the SDK's option of the same name; default 3). */
  maxAttempts?: number;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

export interface ResponseMetadata {
  httpStatusCode?: number;
  requestId?: string;
  extendedRequestId?: string;
  cfId?: string;
  attempts: number;
  totalRetryDelay: number;
}

/** What the SDK's service exceptions carry, for code that reads `name`, `$fault` and `$metadata`. */
export class AwsServiceError extends Error {
  $fault: 'client' | 'server' = 'client';
  $metadata: ResponseMetadata = { attempts: 1, totalRetryDelay: 0 };
  [member: string]: unknown;
}

/** Blobs travel as base64 in AWS JSON protocols; the SDK's callers see bytes. */
export const bytesToBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** Plain Uint8Array, as the SDK's deserializers return (a Buffer compares unequal to one). */
export function base64ToBytes(text: string): Uint8Array {
  const buffer = Buffer.from(text, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** One protocol variant of one service. */
export interface JsonService {
  /** The signing name and the `AWS_ENDPOINT_URL_<NAME>` suffix: `dynamodb`, `kms`. */
  signingName: string;
  /** The `X-Amz-Target` prefix: `DynamoDB_20120810`, `TrentService`. */
  targetPrefix: string;
  /** `1.0` (DynamoDB) or `1.1` (KMS). */
  jsonVersion: '1.0' | '1.1';
}

export type JsonReviver = (this: unknown, key: string, value: unknown) => unknown;

/** Whether the SDK's standard retry strategy would try again after this failure. */
export function isRetryableLikeTheSdk(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return isThrottlingError(error as never) || isTransientError(error as never) || isServerError(error as never);
}

const THROTTLING_POLICY = { baseDelayMs: THROTTLING_RETRY_DELAY_BASE, maxDelayMs: MAXIMUM_RETRY_DELAY };

/** Lambda runs one request at a time per container; 50 sockets is the SDK's default cap anyway. */
const agents = { 'http:': new HttpAgent({ keepAlive: true, maxSockets: 50 }), 'https:': new HttpsAgent({ keepAlive: true, maxSockets: 50 }) };

/** The regional endpoint of a service; China regions live under their own domain. */
export function regionalEndpoint(signingName: string, region: string): string {
  return `https://${signingName}.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

/** The SDK's precedence: explicit option, service-specific variable, global variable, AWS. */
export function resolveEndpoint(signingName: string, region: string, explicit?: string): URL {
  const variable = `AWS_ENDPOINT_URL_${signingName.toUpperCase()}`;
  return new URL(explicit || process.env[variable] || process.env.AWS_ENDPOINT_URL || regionalEndpoint(signingName, region));
}

interface RawResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(url: URL, headers: Record<string, string>, body: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const protocol = url.protocol as 'http:' | 'https:';
    const request = (protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: 'POST', headers, agent: agents[protocol] }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const header = (response: RawResponse, name: string): string | undefined => {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** The SDK's sanitizing of an error type: `aws.protocoltests#FooError:http://…` → `FooError`. */
export function errorName(raw: string): string {
  const withoutUri = raw.split(':')[0]!;
  return withoutUri.slice(withoutUri.lastIndexOf('#') + 1);
}

function serviceError(response: RawResponse, parsed: Record<string, unknown>, metadata: ResponseMetadata): AwsServiceError {
  const type = header(response, 'x-amzn-errortype') ?? (parsed.code as string | undefined) ?? (parsed.__type as string | undefined) ?? `Http${response.statusCode}Error`;
  const { __type: _type, message, Message, code: _code, ...members } = parsed;
  const name = errorName(type);
  const error = new AwsServiceError(String(message ?? Message ?? name));
  Object.assign(error, members);
  error.name = name;
  error.$fault = response.statusCode >= 500 ? 'server' : 'client';
  error.$metadata = metadata;
  return error;
}

/** The service names X-Ray shows for the SDK's clients. */
const TRACE_NAMES: Record<string, string> = { dynamodb: 'DynamoDB', kms: 'KMS' };

export class JsonProtocolClient {
  private readonly signer: SignatureV4;
  private readonly url: URL;
  private readonly maxAttempts: number;
  private readonly contentType: string;
  private readonly region: string;

  constructor(
    private readonly service: JsonService,
    config: LeanClientConfig = {},
  ) {
    const region = config.region ?? process.env.AWS_REGION;
    if (!region) throw new Error(`Missing AWS_REGION for the ${service.signingName} client`);
    this.region = region;
    this.url = resolveEndpoint(service.signingName, region, config.endpoint);
    this.maxAttempts = Math.max(1, config.maxAttempts ?? 3);
    this.contentType = `application/x-amz-json-${service.jsonVersion}`;
    this.signer = new SignatureV4({
      service: service.signingName,
      region,
      credentials: config.credentials ?? defaultProvider(),
      sha256: Sha256,
      uriEscapePath: true,
    });
  }

  /**
   * One operation: `body` is the JSON request, `reviver` rebuilds what the SDK's deserializer
   * would (DynamoDB's binary attributes). Resolves with the parsed body and its `$metadata`.
   */
  async call(operation: string, body: string, reviver?: JsonReviver): Promise<Record<string, unknown> & { $metadata: ResponseMetadata }> {
    const startedAt = Date.now();
    try {
      const result = await this.callWithRetries(operation, body, reviver);
      this.trace(operation, body, startedAt, result.$metadata);
      return result;
    } catch (error) {
      const failure = error as Error & { $metadata?: ResponseMetadata };
      this.trace(operation, body, startedAt, failure.$metadata ?? { attempts: 1, totalRetryDelay: 0 }, failure);
      throw error;
    }
  }

  /** The X-Ray subsegment of one operation (xray.ts): what the X-Ray SDK would record for the SDK's client. */
  private trace(operation: string, body: string, startedAt: number, metadata: ResponseMetadata, error?: Error): void {
    recordAwsCall({
      service: TRACE_NAMES[this.service.signingName] ?? this.service.signingName,
      operation,
      region: this.region,
      startedAt,
      endedAt: Date.now(),
      httpStatus: metadata.httpStatusCode,
      requestId: metadata.requestId,
      retries: Math.max(0, (metadata.attempts ?? 1) - 1),
      tableName: /"TableName":"([^"]+)"/.exec(body)?.[1],
      error: error?.name,
      throttled: error ? isThrottlingError(error as never) : undefined,
    });
  }

  private async callWithRetries(operation: string, body: string, reviver?: JsonReviver): Promise<Record<string, unknown> & { $metadata: ResponseMetadata }> {
    const invocationId = randomUUID();
    let totalRetryDelay = 0;
    let currentAttempt = 1;
    const attempt = async (attemptNumber: number) => {
      currentAttempt = attemptNumber;
      const metadata: ResponseMetadata = { attempts: attemptNumber, totalRetryDelay };
      let response: RawResponse;
      try {
        const signed = await this.signer.sign(
          new HttpRequest({
            method: 'POST',
            protocol: this.url.protocol,
            hostname: this.url.hostname,
            port: this.url.port ? Number(this.url.port) : undefined,
            path: this.url.pathname,
            headers: {
              host: this.url.host,
              'content-type': this.contentType,
              'content-length': String(Buffer.byteLength(body)),
              'x-amz-target': `${this.service.targetPrefix}.${operation}`,
              'amz-sdk-invocation-id': invocationId,
              'amz-sdk-request': `attempt=${attemptNumber}; max=${this.maxAttempts}`,
              'user-agent': 'flashline-aws-lean',
            },
            body,
          }),
        );
        response = await send(this.url, signed.headers, body);
      } catch (error) {
        // Network failures (ECONNRESET…) keep their `code`, which the SDK's classification reads.
        throw Object.assign(error as Error, { $metadata: metadata });
      }
      metadata.httpStatusCode = response.statusCode;
      metadata.requestId = header(response, 'x-amzn-requestid') ?? header(response, 'x-amz-request-id');
      metadata.extendedRequestId = header(response, 'x-amz-id-2');
      metadata.cfId = header(response, 'x-amz-cf-id');
      let parsed: Record<string, unknown>;
      try {
        parsed = response.body ? JSON.parse(response.body, reviver) : {};
      } catch {
        // A proxy's HTML page or a cut body: an error of its status (a 5xx is retried).
        throw serviceError(response, { message: `Unparsable ${response.statusCode} response to ${operation}` }, metadata);
      }
      if (response.statusCode >= 300) throw serviceError(response, parsed, metadata);
      return Object.assign(parsed, { $metadata: metadata });
    };
    try {
      return await retry(attempt, {
        maxAttempts: this.maxAttempts,
        baseDelayMs: DEFAULT_RETRY_DELAY_BASE,
        maxDelayMs: MAXIMUM_RETRY_DELAY,
        retryable: isRetryableLikeTheSdk,
        // Throttles back off from the SDK's larger base; the loop waits the longer of the two.
        requestedDelayMs: (error) => (isThrottlingError(error as never) ? backoffDelayMs(currentAttempt, THROTTLING_POLICY) : undefined),
        onRetry: (_error, _attempt, delayMs) => {
          totalRetryDelay += delayMs;
        },
      });
    } catch (error) {
      // The SDK throws the last failure itself once its attempts are spent, not a wrapper.
      throw error instanceof RetriesExhaustedError ? error.cause : error;
    }
  }
}
