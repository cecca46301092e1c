import { requireEnv } from '../../shared/config.js';
import { parseRateLimits } from '../../shared/domain/rate-limits.js';
import { createDocumentClient, createKmsClient } from '../../shared/store/clients.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { RateLimiter } from '../../shared/store/rate-limits.js';

/** Only what issuing a certificate needs: the entity table, KMS (Sign with CA keys), and the programmers' token buckets. */
export const db: Db = {
  doc: createDocumentClient(),
  table: requireEnv('TABLE_NAME'),
  events: requireEnv('EVENTS_TABLE_NAME'),
  cursors: NO_CURSORS,
};

export const kms = createKmsClient();

/** The same buckets as the device function's: a programmer's certificate requests count against its rate. */
export const rateLimiter = new RateLimiter(db, parseRateLimits(process.env.RATE_LIMITS));
