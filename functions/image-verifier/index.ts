import type { Context, S3Event } from 'aws-lambda';
import { requireEnv } from '../../shared/config.js';
import { logger } from '../../shared/http/logger.js';
import { METRIC } from '../../shared/observability/metric-names.js';
import { count } from '../../shared/observability/metrics.js';
import { observed } from '../../shared/observability/observe.js';
import { AccountDataKeys } from '../../shared/store/account-data-keys.js';
import { createDocumentClient, createKmsClient, createS3Client } from '../../shared/store/clients.js';
import { processUpload } from '../../shared/store/data-lists.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import { type UploadOutcome, noteVerificationFailure, verifyUpload } from '../../shared/store/images.js';
import { keys } from '../../shared/store/keys.js';

const db: Db = { doc: createDocumentClient(), table: requireEnv('TABLE_NAME'), events: requireEnv('EVENTS_TABLE_NAME'), cursors: NO_CURSORS };
const objects = new ImageObjects(createS3Client(), requireEnv('IMAGES_BUCKET'));
const dataKeys = new AccountDataKeys(db, createKmsClient());

/**
 * A data list's rows file: read whole, checked (size, SHA-256) and parsed before any row is
 * stored (store/data-lists.ts processUpload), then deleted for good: the rows, secrets sealed,
 * live in DynamoDB, and a file holding them in the clear must not linger.
 */
async function processDataListUpload(target: { accountId: string; dataListId: string; uploadId: string }, objectKey: string, versionId: string): Promise<void> {
  const object = await objects.read(objectKey, versionId);
  const outcome = await processUpload({ db, dataKeys }, target, object);
  // Never the rows or the rejection's text (it may quote a value): only where and what became of it.
  logger.info('data list upload processed', { ...target, versionId, outcome: outcome.outcome, ...(outcome.outcome === 'ready' && { rows: outcome.rows }) });
  await objects.deleteVersion(objectKey, versionId);
}

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
      const dataList = keys.parseDataListObject(objectKey);
      if (dataList && versionId) {
        try {
          await processDataListUpload(dataList, objectKey, versionId);
        } catch (error) {
          count(METRIC.uploadsFailed);
          logger.error('data list upload failed', { ...dataList, objectKey, versionId, error: (error as Error).name });
          failures.push(error);
        }
        continue;
      }
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
