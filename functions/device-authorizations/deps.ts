import { requireEnv } from '../../shared/config.js';
import { parseRateLimits } from '../../shared/domain/rate-limits.js';
import { AccountDataKeys } from '../../shared/store/account-data-keys.js';
import { createDocumentClient, createKmsClient } from '../../shared/store/clients.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { RateLimiter } from '../../shared/store/rate-limits.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';
import { SessionTicketSigner } from '../../shared/store/ticket-signer.js';

/** What authorizing needs: the entity table, the ticket and binding keys, accounts' data keys and the token buckets. */
export const db: Db = { doc: createDocumentClient(), table: requireEnv('TABLE_NAME'), events: requireEnv('EVENTS_TABLE_NAME'), cursors: NO_CURSORS };

const kms = createKmsClient();

/** The binding root key: the management function signs bindings with it, this function verifies the ones programmers present. */
export const bindings = new KmsJwsSigner(kms, requireEnv('SIGNING_KEY_ID'));

/**
 * Tickets are signed in memory by this container's session key, which the ticket root key
 * certifies (KMS is called once per container and at renewal, not per ticket). Only this
 * function's role may Sign with the ticket key.
 */
export const tickets = new SessionTicketSigner(new KmsJwsSigner(kms, requireEnv('TICKET_KEY_ID')));

/** Accounts' data keys (data-list secrets), decrypted once per container and kept in memory. */
export const dataKeys = new AccountDataKeys(db, kms);

/** The same buckets as the device function's: authorizations count against the programmer's and the account's device rate. */
export const rateLimiter = new RateLimiter(db, parseRateLimits(process.env.RATE_LIMITS));
