import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from '../observability/tracer.js';

/**
 * SDK clients, one of each per container. Endpoints come from the standard AWS configuration
 * (AWS_ENDPOINT_URL and friends), so the same code talks to AWS or to a local emulator. Each is
 * captured by the Tracer (X-Ray subsegments; a no-op outside Lambda).
 */
export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(observed(new DynamoDBClient({ maxAttempts: 4 })), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/**
 * The custom S3 endpoint, if any (an emulator), by the SDK's precedence: the service-specific
 * variable first. Virtual-hosted bucket names do not resolve against it, so both the S3 client
 * and the presigner (image-objects.ts) address buckets path-style there; AWS itself takes either.
 */
export function s3Endpoint(): string | undefined {
  return process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
}

export function createS3Client(): S3Client {
  return observed(
    new S3Client({
      forcePathStyle: Boolean(s3Endpoint()),
      // Presigned URLs must not demand checksum headers the caller would have to guess.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  );
}

export function createKmsClient(): KMSClient {
  return observed(new KMSClient({}));
}

export function createSqsClient(): SQSClient {
  return observed(new SQSClient({}));
}

export type ObservedClient = DynamoDBClient | KMSClient | S3Client | SQSClient;

let observer: ((client: ObservedClient) => void) | undefined;

/**
 * Opt-in, for `npm run bench` only (nothing in functions/ calls it): the bench's cost model
 * counts the AWS calls the real route code makes by adding middleware to the very clients the
 * functions build, so it must see each client as it is created. Set it before importing a
 * function's entry module; a Lambda container never sets it and pays nothing for it.
 */
export function observeNewClients(next: ((client: ObservedClient) => void) | undefined): void {
  observer = next;
}

function observed<T extends ObservedClient>(client: T): T {
  observer?.(client);
  return tracer.captureAWSv3Client(client);
}
