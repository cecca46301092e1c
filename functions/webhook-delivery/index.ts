import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENV, requireEnv } from '../../shared/config.js';
import { DELIVERY_TIMEOUT_MS } from '../../shared/domain/webhooks.js';
import { logger } from '../../shared/http/logger.js';
import { METRIC } from '../../shared/observability/metric-names.js';
import { count } from '../../shared/observability/metrics.js';
import { observed } from '../../shared/observability/observe.js';
import { createDocumentClient, createKmsClient, createSqsClient } from '../../shared/store/clients.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { type DeliveryOutcome, deliverOnce } from '../../shared/store/webhook-delivery.js';
import { httpWebhookSender } from '../../shared/store/webhook-sender.js';
import { type DeliveryMessage, DeliveryQueue, SecretBox } from '../../shared/store/webhooks.js';

const db: Db = { doc: createDocumentClient(), table: requireEnv('TABLE_NAME'), events: requireEnv('EVENTS_TABLE_NAME'), cursors: NO_CURSORS };
const sqs = createSqsClient();
const deps = {
  db,
  queue: new DeliveryQueue(sqs, requireEnv('WEBHOOK_QUEUE_URL')),
  deadLetters: new DeliveryQueue(sqs, requireEnv('WEBHOOK_DEAD_LETTER_URL')),
  secrets: new SecretBox(createKmsClient(), requireEnv('DATA_KEY_ID')),
  send: httpWebhookSender({ allowPrivate: process.env[ENV.WEBHOOK_ALLOW_PRIVATE] === 'true', timeoutMs: DELIVERY_TIMEOUT_MS }),
  retryBaseSeconds: Number(requireEnv('WEBHOOK_RETRY_BASE_SECONDS')),
};

const OUTCOME_METRIC: Partial<Record<DeliveryOutcome, (typeof METRIC)[keyof typeof METRIC]>> = {
  delivered: METRIC.webhookDelivered,
  retry: METRIC.webhookAttemptsFailed,
  dead_lettered: METRIC.webhookDeadLettered,
};

/**
 * One message per attempt. A message that throws (DynamoDB, KMS, SQS trouble — never the
 * receiver's failure, which is an outcome) is reported back alone and comes again after the
 * queue's visibility timeout; after five such returns SQS moves it to the dead-letter queue.
 */
export const handler = observed(
  async (event: SQSEvent, _context: Context): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    await Promise.all(
      event.Records.map(async (record) => {
        const message = JSON.parse(record.body) as DeliveryMessage;
        try {
          const outcome = await deliverOnce(deps, message);
          const metric = OUTCOME_METRIC[outcome];
          if (metric) count(metric);
          logger.info('webhook delivery', { accountId: message.accountId, webhookId: message.webhookId, messageId: message.messageId, outcome });
        } catch (error) {
          logger.error('webhook delivery could not be processed', { accountId: message.accountId, webhookId: message.webhookId, messageId: message.messageId, error });
          batchItemFailures.push({ itemIdentifier: record.messageId });
        }
      }),
    );
    return { batchItemFailures };
  },
  () => ({}),
);
