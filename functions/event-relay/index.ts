import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { requireEnv } from '../../shared/config.js';
import { logger } from '../../shared/http/logger.js';
import { METRIC } from '../../shared/observability/metric-names.js';
import { count } from '../../shared/observability/metrics.js';
import { observed } from '../../shared/observability/observe.js';
import { createDocumentClient, createSqsClient } from '../../shared/store/clients.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { type ChangeRecord, relayChanges } from '../../shared/store/event-relay.js';
import { DeliveryQueue } from '../../shared/store/webhooks.js';

const db: Db = { doc: createDocumentClient(), table: requireEnv('TABLE_NAME'), events: requireEnv('EVENTS_TABLE_NAME'), cursors: NO_CURSORS };
const queue = new DeliveryQueue(createSqsClient(), requireEnv('WEBHOOK_QUEUE_URL'));

/**
 * The entity table's change stream (filtered to jobs, images, programmers and authorizations)
 * → events → one queued delivery per subscribed webhook. A failed batch is retried by Lambda
 * from the same stream position, so nothing committed is ever skipped.
 */
export const handler = observed(
  async (event: DynamoDBStreamEvent, _context: Context): Promise<void> => {
    const published = await relayChanges({ db, queue }, event.Records as ChangeRecord[]);
    if (published > 0) count(METRIC.eventsPublished, published);
    logger.info('changes relayed', { records: event.Records.length, published });
  },
  () => ({}),
);
