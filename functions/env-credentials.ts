import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/**
 * Replaces `@aws-sdk/credential-provider-node` in Lambda bundles (see the `alias` in
 * infra/constructs/function-bundling.ts): same exports, but the only source is the environment,
 * where Lambda always puts the execution role's credentials (renewed with the container, so
 * they are never refreshed in place). This keeps the SSO/ini/process/web-identity/IMDS
 * providers and their nested STS/SSO clients out of every function.
 */
export function defaultProvider(init: Parameters<typeof fromEnv>[0] = {}): AwsCredentialIdentityProvider {
  // Every SDK client calls this at construction, i.e. at cold start: fail there, loudly.
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
    if (!process.env[name]) {
      throw new Error(`Missing ${name}: Flashline's Lambda bundles read AWS credentials from the environment only (functions/env-credentials.ts)`);
    }
  }
  return fromEnv(init);
}

export const credentialsWillNeedRefresh = (credentials?: AwsCredentialIdentity): boolean => credentials?.expiration !== undefined;

export const credentialsTreatedAsExpired = (credentials?: AwsCredentialIdentity): boolean =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
