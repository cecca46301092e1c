import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/**
 * Replaces `@aws-sdk/credential-provider-node` in Lambda bundles (see the `alias` in
 * infra/constructs/function-bundling.ts): same exports, but the only source is the environment,
 * where Lambda always puts the execution role's credentials (renewed with the container, so
 * they are never refreshed in place). This keeps the SSO/ini/process/web-identity/IMDS
 * providers and their nested STS/SSO clients out of every function. The four variables are read
 * here rather than through `@aws-sdk/credential-provider-env`, whose user-agent bookkeeping pulls
 * the SDK's endpoint and partition tables (about 12 kB) into the device bundle.
 */
export function defaultProvider(_init: unknown = {}): AwsCredentialIdentityProvider {
  // Every SDK client calls this at construction, i.e. at cold start: fail there, loudly.
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
    if (!process.env[name]) {
      throw new Error(`Missing ${name}: Flashline's Lambda bundles read AWS credentials from the environment only (functions/env-credentials.ts)`);
    }
  }
  const credentials: AwsCredentialIdentity = {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID!,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY!,
    ...(process.env.AWS_SESSION_TOKEN && { sessionToken: process.env.AWS_SESSION_TOKEN }),
    ...(process.env.AWS_CREDENTIAL_EXPIRATION && { expiration: new Date(process.env.AWS_CREDENTIAL_EXPIRATION) }),
  };
  return async () => credentials;
}

export const credentialsWillNeedRefresh = (credentials?: AwsCredentialIdentity): boolean => credentials?.expiration !== undefined;

export const credentialsTreatedAsExpired = (credentials?: AwsCredentialIdentity): boolean =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
