import { requireEnv } from '../../shared/config.js';
import { parseRateLimits } from '../../shared/domain/rate-limits.js';
import { createDocumentClient } from '../../shared/store/clients.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { ImageUrls } from '../../shared/store/image-objects.js';
import { RateLimiter } from '../../shared/store/rate-limits.js';

/**
 * What the device routes other than authorizing need: the tables, the images bucket's name (to
 * presign downloads) and the token buckets. No KMS client: tickets are signed, bindings
 * verified and data-list secrets opened only by the authorizations function (functions/device-authorizations).
 */
export const db: Db = { doc: createDocumentClient(), table: requireEnv('TABLE_NAME'), events: requireEnv('EVENTS_TABLE_NAME'), cursors: NO_CURSORS };

export const imageUrls = new ImageUrls(requireEnv('IMAGES_BUCKET'));

export const rateLimiter = new RateLimiter(db, parseRateLimits(process.env.RATE_LIMITS));
