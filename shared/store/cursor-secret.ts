import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CursorKeySource } from './cursors.js';

/**
 * The cursor key from Secrets Manager (the stack generates it): read when the first cursor of
 * a container is sealed or opened, not at load, so a cold start that pages nothing pays nothing.
 * Only the management function imports this (the device function never pages, and its bundle
 * stays without a Secrets Manager client).
 */
export function secretsManagerCursorKey(secretId: string, client = new SecretsManagerClient({})): CursorKeySource {
  return async () => {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!SecretString || SecretString.length < 32) throw new Error(`Secret ${secretId} holds no usable cursor key`);
    return new TextEncoder().encode(SecretString);
  };
}
