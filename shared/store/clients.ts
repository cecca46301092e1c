import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * SDK clients, one of each per container. Endpoints come from the standard AWS configuration
 * (AWS_ENDPOINT_URL and friends), so the same code talks to AWS or to a local emulator.
 */
export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 4 }), {
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
  return new S3Client({
    forcePathStyle: Boolean(s3Endpoint()),
    // Presigned URLs must not demand checksum headers the caller would have to guess.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function createKmsClient(): KMSClient {
  return new KMSClient({});
}
