import { requireEnv } from '../shared/config.js';
import { AccountDataKeys } from '../shared/store/account-data-keys.js';
import { createDocumentClient, createKmsClient } from '../shared/store/clients.js';
import { NO_CURSORS } from '../shared/store/cursors.js';
import { parseRateLimits } from '../shared/domain/rate-limits.js';
import type { Db } from '../shared/store/db.js';
import { ImageUrls } from '../shared/store/image-objects.js';
import { RateLimiter } from '../shared/store/rate-limits.js';
import { KmsJwsSigner } from '../shared/store/signer.js';
import { SessionTicketSigner } from '../shared/store/ticket-signer.js';

/**
 * What every API function needs, built once per container at load. A missing variable fails
 * the cold start. Route modules import from here; unit tests replace the SDK clients with
 * aws-sdk-client-mock. No S3 client here: presigned URLs need only the signer, and the device
 * function's bundle stays without the S3 client (the management function adds it in its deps.ts).
 */
export const db: Db = {
  doc: createDocumentClient(),
  table: requireEnv('TABLE_NAME'),
  events: requireEnv('EVENTS_TABLE_NAME'),
  // The device function never pages; the management function's deps.ts gives its db the cursor key.
  cursors: NO_CURSORS,
};

export const kms = createKmsClient();

/** The binding root key: the management function signs bindings with it, the device function verifies them. */
export const signer = new KmsJwsSigner(kms, requireEnv('SIGNING_KEY_ID'));

/** The ticket root key: certifies this container's session key (only the device function may Sign with it). */
export const ticketKey = new KmsJwsSigner(kms, requireEnv('TICKET_KEY_ID'));

/** Signs tickets in memory; KMS is called once per container (and renewal), not per ticket. */
export const tickets = new SessionTicketSigner(ticketKey);

/** Accounts' data keys (data-list secrets), decrypted once per container and kept in memory. */
export const dataKeys = new AccountDataKeys(db, kms);

export const imageUrls = new ImageUrls(requireEnv('IMAGES_BUCKET'));

/**
 * Per-account and per-programmer token buckets, leased in chunks (store/rate-limits.ts). The
 * stack hands the deployment's limits over as RATE_LIMITS (CDK context `rateLimits`); unset
 * means the defaults of shared/domain/rate-limits.ts.
 */
export const rateLimiter = new RateLimiter(db, parseRateLimits(process.env.RATE_LIMITS));
