/**
 * Every environment variable a Flashline function reads, named once: the stack sets them by
 * these names (infra/), the functions read them by these names, so a rename is one edit and a
 * typo is a type error on either side. A new variable goes here first.
 */
export const ENV = {
  /** The entity table (accounts, factories, programmers, images, jobs, authorizations). */
  TABLE_NAME: 'TABLE_NAME',
  /** The events table (audit, logs, result batches). */
  EVENTS_TABLE_NAME: 'EVENTS_TABLE_NAME',
  IMAGES_BUCKET: 'IMAGES_BUCKET',
  /** KMS key id of the binding root key (signs image bindings). */
  SIGNING_KEY_ID: 'SIGNING_KEY_ID',
  /** KMS key id of the ticket root key (certifies the device function's session keys). */
  TICKET_KEY_ID: 'TICKET_KEY_ID',
  /** KMS key id of the deployment's data key: accounts' data keys are generated under it, webhook secrets sealed with it (management seals, delivery opens). */
  DATA_KEY_ID: 'DATA_KEY_ID',
  /** The API's base URL as clients reach it (management function only). */
  PUBLIC_API_URL: 'PUBLIC_API_URL',
  /** Secrets Manager ARN of the key that signs list cursors (management function only). */
  CURSOR_KEY_SECRET_ARN: 'CURSOR_KEY_SECRET_ARN',
  /**
   * REST flavour only: the console origins (comma-separated) whose pages may read the API's
   * answers. A REST API's Lambda proxy answer carries only the headers the function sets, so the
   * API functions add Access-Control-Allow-Origin themselves; an HTTP API's CORS configuration
   * does it there, and the variable is not set.
   */
  CORS_ORIGINS: 'CORS_ORIGINS',
  /** The token buckets' limits as JSON (both API functions; shared/domain/rate-limits.ts). */
  RATE_LIMITS: 'RATE_LIMITS',
  /** Value of the CA_KEY_TAG tag on the KMS keys of certificate authorities: the only keys the functions may create, tag and Sign with. */
  CA_KEY_TAG_VALUE: 'CA_KEY_TAG_VALUE',
  /** SQS queue URL of webhook deliveries (event relay and management send, delivery re-sends with a delay). */
  WEBHOOK_QUEUE_URL: 'WEBHOOK_QUEUE_URL',
  /** SQS queue URL where deliveries go after 24 hours of failed attempts (delivery function only). */
  WEBHOOK_DEAD_LETTER_URL: 'WEBHOOK_DEAD_LETTER_URL',
  /** "true" only on the local stack: webhooks may name http://localhost and deliveries may reach private addresses. */
  WEBHOOK_ALLOW_PRIVATE: 'WEBHOOK_ALLOW_PRIVATE',
  /** First retry delay of a failed delivery in seconds (domain/webhooks.ts; 5 in production, 1 locally). */
  WEBHOOK_RETRY_BASE_SECONDS: 'WEBHOOK_RETRY_BASE_SECONDS',
  /** People (Cognito; absent when the stack is deployed with `-c people=off`): the user pool the management function creates users in. */
  PEOPLE_USER_POOL_ID: 'PEOPLE_USER_POOL_ID',
  /** The console's app client: the authorizer accepts access tokens issued to it only. */
  PEOPLE_CLIENT_ID: 'PEOPLE_CLIENT_ID',
  /** The `iss` of the pool's tokens (AWS: https://cognito-idp.{region}.amazonaws.com/{poolId}; MiniStack issues the same). */
  PEOPLE_TOKEN_ISSUER: 'PEOPLE_TOKEN_ISSUER',
  /** Where the pool's JWKS is served: `{issuer}/.well-known/jwks.json` on AWS, the emulator's own URL locally. */
  PEOPLE_JWKS_URL: 'PEOPLE_JWKS_URL',
  /** "true" only on the local stack: invitations send no mail and the admin is shown the temporary password. */
  PEOPLE_SHOW_TEMPORARY_PASSWORD: 'PEOPLE_SHOW_TEMPORARY_PASSWORD',
  /** Powertools: the `service` of every log line and metric (the function's construct id). */
  POWERTOOLS_SERVICE_NAME: 'POWERTOOLS_SERVICE_NAME',
  POWERTOOLS_LOG_LEVEL: 'POWERTOOLS_LOG_LEVEL',
  NODE_OPTIONS: 'NODE_OPTIONS',
} as const;

export type EnvName = keyof typeof ENV;

/** What the stack hands a function: only named variables. */
export type FunctionEnvironment = Partial<Record<EnvName, string>>;

/**
 * Configuration is read once, at module load, through a throwing accessor: a missing variable
 * fails the cold start loudly instead of the thousandth request quietly.
 */
export function requireEnv(name: EnvName): string {
  const value = process.env[ENV[name]];
  if (value === undefined || value === '') {
    throw new Error(`Missing required environment variable ${name}`);
  }
  return value;
}

/** For features a deployment may leave out (people without a user pool): undefined when unset. */
export function optionalEnv(name: EnvName): string | undefined {
  const value = process.env[ENV[name]];
  return value === undefined || value === '' ? undefined : value;
}

/** The tag every certificate authority's KMS key carries (value: the deployment's, CA_KEY_TAG_VALUE); IAM conditions name it. */
export const CA_KEY_TAG = 'flashline-ca';
