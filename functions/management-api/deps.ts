import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { ENV, optionalEnv, requireEnv } from '../../shared/config.js';
import { tracer } from '../../shared/observability/tracer.js';
import { UserPool } from '../../shared/store/user-pool.js';
import { parseRateLimits } from '../../shared/domain/rate-limits.js';
import { AccountDataKeys } from '../../shared/store/account-data-keys.js';
import { createDocumentClient, createKmsClient, createS3Client, createSqsClient } from '../../shared/store/clients.js';
import { secretsManagerCursorKey } from '../../shared/store/cursor-secret.js';
import { HmacCursorCodec } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import type { CaKeys } from '../../shared/store/certificate-authorities.js';
import { RateLimiter } from '../../shared/store/rate-limits.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';
import { DeliveryQueue, SecretBox } from '../../shared/store/webhooks.js';

/*
 * What the management function needs, built once per container at load: a missing variable
 * fails the cold start. Route modules import from here; unit tests replace the SDK clients with
 * aws-sdk-client-mock.
 */

/** Only the management function pages, so only it reads the cursor key (lazily, on the first cursor). */
export const db: Db = {
  doc: createDocumentClient(),
  table: requireEnv('TABLE_NAME'),
  events: requireEnv('EVENTS_TABLE_NAME'),
  cursors: new HmacCursorCodec(secretsManagerCursorKey(requireEnv('CURSOR_KEY_SECRET_ARN'))),
};

const kms = createKmsClient();

/** The binding root key: bindings are signed here; the authorizations function verifies them. */
export const signer = new KmsJwsSigner(kms, requireEnv('SIGNING_KEY_ID'));

/**
 * The ticket root key: the JWKS publishes its public key. Only the authorizations function
 * (functions/device-authorizations) may Sign with it, to certify its session keys.
 */
export const ticketKey = new KmsJwsSigner(kms, requireEnv('TICKET_KEY_ID'));

/** Accounts' data keys (data-list secrets), decrypted once per container and kept in memory. */
const dataKeys = new AccountDataKeys(db, kms);

/** People's and scripts' token buckets (per account), leased in chunks (store/rate-limits.ts). */
export const rateLimiter = new RateLimiter(db, parseRateLimits(process.env.RATE_LIMITS));

/** Only the management function deletes images (a deleted job's), so only it carries an S3 client. */
export const objects = new ImageObjects(createS3Client(), requireEnv('IMAGES_BUCKET'));

/** Certificate authorities' keys are created at run time; IAM lets this function create, tag and use only keys carrying the deployment's tag. */
export const caKeys: CaKeys = { kms: kms, tagValue: requireEnv('CA_KEY_TAG_VALUE') };
/** Data lists: accounts' data keys are generated under the deployment's data key (only here). */
export const dataListDeps = { db, kms: kms, dataKeyId: requireEnv('DATA_KEY_ID'), dataKeys };
/** Webhook secrets are sealed with the data key here and opened only by the delivery function. */
export const webhookSecrets = new SecretBox(createKmsClient(), requireEnv('DATA_KEY_ID'));

/** `POST /v1/webhooks/{id}/test` queues its delivery directly; every other event comes through the relay. */
export const deliveryQueue = new DeliveryQueue(createSqsClient(), requireEnv('WEBHOOK_QUEUE_URL'));

/** Only the local stack sets it: webhooks may then name http://localhost (a test's receiver). */
export const allowPrivateWebhooks = process.env[ENV.WEBHOOK_ALLOW_PRIVATE] === 'true';

/**
 * People (Cognito): absent when the stack is deployed without a user pool (`-c people=off`);
 * the people routes then answer 409 `people_not_configured`. Only this function holds a Cognito
 * client (the device bundle must not carry it).
 */
const userPoolId = optionalEnv('PEOPLE_USER_POOL_ID');
export const userPool = userPoolId
  ? new UserPool(tracer.captureAWSv3Client(new CognitoIdentityProviderClient({})), userPoolId, process.env[ENV.PEOPLE_SHOW_TEMPORARY_PASSWORD] === 'true')
  : undefined;
