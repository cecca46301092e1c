import type { Context, S3Event } from 'aws-lambda';
import { requireEnv } from '../../shared/config.js';
import { logger } from '../../shared/http/logger.js';
import { METRIC } from '../../shared/observability/metric-names.js';
import { count } from '../../shared/observability/metrics.js';
import { observed } from '../../shared/observability/observe.js';
import { createDocumentClient, createS3Client } from '../../shared/store/clients.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import { type UploadOutcome, noteVerificationFailure, verifyUpload } from '../../shared/store/images.js';
import { keys } from '../../shared/store/keys.js';

const db: Db = { doc: createDocumentClient(), table: requireEnv('TABLE_NAME'), events: requireEnv('EVENTS_TABLE_NAME'), cursors: NO_CURSORS };
const objects = new ImageObjects(createS3Client(), requireEnv('IMAGES_BUCKET'));

/** Verdicts that change an image, as metrics; `not_pending` and `orphaned` are repeats and leftovers. */
const OUTCOME_METRIC: Partial<Record<UploadOutcome['outcome'], (typeof METRIC)[keyof typeof METRIC]>> = {
  available: METRIC.uploadsAvailable,
  rejected: METRIC.uploadsRejected,
};

/**
 * S3 ObjectCreated → the uploaded object version is read back and its size and SHA-256 computed
 * here: the presigned URL asks S3 to check the checksum, but emulators don't, and we trust no one.
 * A record that fails is logged as an error and the invocation fails after the other records,
 * so Lambda retries it and finally hands the event to the function's on-failure queue.
 */
export const handler = observed(
  async (event: S3Event, _context: Context): Promise<void> => {
    const failures: unknown[] = [];
    for (const record of event.Records) {
      const objectKey = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
      const versionId = record.s3.object.versionId;
      const target = keys.parseImageObject(objectKey);
      if (!target) {
        logger.warn('ignoring an object outside the image layout', { objectKey });
        continue;
      }
      if (!versionId) {
        // The images bucket is versioned; without a version we could only read whatever is latest.
        logger.error('upload event without an object version: is versioning off on the images bucket?', { objectKey });
        count(METRIC.uploadsFailed);
        failures.push(new Error(`No versionId for ${objectKey}`));
        continue;
      }
      try {
        const outcome = await verifyUpload({ db, objects }, { ...target, objectKey, versionId });
        const metric = OUTCOME_METRIC[outcome.outcome];
        if (metric) count(metric);
        logger.info('upload verified', { ...target, versionId, ...outcome });
      } catch (error) {
        count(METRIC.uploadsFailed);
        logger.error('upload verification failed', { ...target, objectKey, versionId, error });
        await noteVerificationFailure(db, target.accountId, target.imageId, versionId, error);
        failures.push(error);
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} uploads could not be verified`);
  },
  // One invocation can carry uploads of several accounts: each line names its own.
  () => ({}),
);
