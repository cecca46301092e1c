import { requireEnv } from '../../shared/config.js';
import { createS3Client } from '../../shared/store/clients.js';
import { secretsManagerCursorKey } from '../../shared/store/cursor-secret.js';
import { HmacCursorCodec } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import type { CaKeys } from '../../shared/store/certificate-authorities.js';
import { dataKeys, db as sharedDb, kms as sharedKms } from '../shared-deps.js';

export * from '../shared-deps.js';

/** Only the management function deletes images (a deleted job's), so only it carries an S3 client. */
export const objects = new ImageObjects(createS3Client(), requireEnv('IMAGES_BUCKET'));

/** Only the management function pages, so only it reads the cursor key (lazily, on the first cursor). */
export const db: Db = { ...sharedDb, cursors: new HmacCursorCodec(secretsManagerCursorKey(requireEnv('CURSOR_KEY_SECRET_ARN'))) };

/** Certificate authorities' keys are created at run time; IAM lets this function create, tag and use only keys carrying the deployment's tag. */
export const caKeys: CaKeys = { kms: sharedKms, tagValue: requireEnv('CA_KEY_TAG_VALUE') };
/** Data lists: accounts' data keys are generated under the deployment's data key (only here). */
export const dataListDeps = { db, kms: sharedKms, dataKeyId: requireEnv('DATA_KEY_ID'), dataKeys };
