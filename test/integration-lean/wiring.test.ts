import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDBClient as LeanDynamoDBClient, DynamoDBDocumentClient as LeanDocumentClient } from '../../shared/aws-lean/dynamodb.js';
import { KMSClient as LeanKMSClient } from '../../shared/aws-lean/kms.js';

/** Guards the project itself: without its alias the store tests beside this one would run the SDK again, and prove nothing new. */
describe('the integration-lean project', () => {
  it('resolves the SDK packages to the lean clients, as the device bundle does', () => {
    expect(DynamoDBClient).toBe(LeanDynamoDBClient);
    expect(DynamoDBDocumentClient).toBe(LeanDocumentClient);
    expect(KMSClient).toBe(LeanKMSClient);
  });
});
