import type { S3Event } from 'aws-lambda';
import { requireEnv } from '../../shared/config.js';
import { logger } from '../../shared/http/logger.js';
import { createDocumentClient, createS3Client } from '../../shared/store/clients.js';
import type { Db } from '../../shared/store/db.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import { recordUploadVerdict } from '../../shared/store/images.js';
import { keys } from '../../shared/store/keys.js';

const db: Db = { doc: createDocumentClient(), table: requireEnv('TABLE_NAME'), events: requireEnv('EVENTS_TABLE_NAME') };
const objects = new ImageObjects(createS3Client(), requireEnv('IMAGES_BUCKET'));

/**
 * S3 ObjectCreated → the uploaded image is read back and its size and SHA-256 computed here:
 * the presigned URL asks S3 to check the checksum, but emulators don't, and we trust no one.
 */
export const handler = async (event: S3Event): Promise<void> => {
  for (const record of event.Records) {
    const objectKey = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    const target = keys.parseImageObject(objectKey);
    if (!target) {
      logger.warn('ignoring an object outside the image layout', { objectKey });
      continue;
    }
    const actual = await objects.digest(objectKey);
    try {
      const verdict = await recordUploadVerdict(db, target.accountId, target.imageId, actual);
      logger.info('image verified', { ...target, ...actual, ...verdict });
    } catch (error) {
      if (error instanceof Error && error.name === 'NotFoundError') {
        logger.warn('an object for an unknown image', { objectKey });
        continue;
      }
      throw error;
    }
  }
};
