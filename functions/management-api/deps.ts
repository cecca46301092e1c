import { requireEnv } from '../../shared/config.js';
import { createS3Client } from '../../shared/store/clients.js';
import { ImageObjects } from '../../shared/store/image-objects.js';

export * from '../shared-deps.js';

/** Only the management function deletes images (a deleted job's), so only it carries an S3 client. */
export const objects = new ImageObjects(createS3Client(), requireEnv('IMAGES_BUCKET'));
