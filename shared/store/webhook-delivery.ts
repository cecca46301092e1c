import { Webhook } from 'standardwebhooks';
import { type DeliveryAttempt, type DeliveryMessage, type DeliveryQueue, type SecretBox, getDelivery, getWebhookRecord, recordAttempt, secretContext } from './webhooks.js';
import { nextAttemptAt } from '../domain/webhooks.js';
import type { Db } from './db.js';
import type { WebhookSender } from './webhook-sender.js';

export interface DeliveryDeps {
  db: Db;
  queue: DeliveryQueue;
  deadLetters: DeliveryQueue;
  secrets: SecretBox;
  send: WebhookSender;
  retryBaseSeconds: number;
}

export type DeliveryOutcome = 'delivered' | 'retry' | 'dead_lettered' | 'not_due' | 'finished' | 'cancelled';

/** Per container: opened secrets by webhook (a KMS Decrypt per webhook, not per attempt). */
const openedSecrets = new Map<string, string>();

/**
 * One queued attempt. SQS delays a message 15 minutes at most, so a later attempt is reached
 * through messages that find it not yet due and go back with the rest of the wait. Each attempt
 * is recorded on the delivery; a failed one is queued again with exponential backoff until 24
 * hours after the delivery was created, then the message goes to the dead-letter queue (alarm).
 */
export async function deliverOnce(deps: DeliveryDeps, message: DeliveryMessage, now = new Date()): Promise<DeliveryOutcome> {
  const delivery = await getDelivery(deps.db, message);
  if (!delivery || delivery.status !== 'pending') return 'finished';
  const waitSeconds = delivery.nextAttemptAt ? (Date.parse(delivery.nextAttemptAt) - now.getTime()) / 1000 : 0;
  if (waitSeconds > 1) {
    await deps.queue.send(message, waitSeconds);
    return 'not_due';
  }
  const webhook = await getWebhookRecord(deps.db, message.accountId, message.webhookId).catch(() => undefined);
  if (!webhook) {
    await recordAttempt(deps.db, message, undefined, { status: 'cancelled', nextAttemptAt: null });
    return 'cancelled';
  }
  let secret = openedSecrets.get(webhook.webhookId);
  if (!secret) {
    secret = await deps.secrets.open(webhook.secretCiphertext, secretContext(message.accountId, webhook.webhookId));
    openedSecrets.set(webhook.webhookId, secret);
  }
  const timestamp = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const headers = {
    'webhook-id': delivery.messageId,
    'webhook-timestamp': String(timestamp.getTime() / 1000),
    'webhook-signature': new Webhook(secret).sign(delivery.messageId, timestamp, delivery.payload),
  };
  const outcome = await deps.send(webhook.url, headers, delivery.payload);
  const attempt: DeliveryAttempt = { at: now.toISOString(), ...outcome };
  if (outcome.error === null) {
    await recordAttempt(deps.db, message, attempt, { status: 'delivered', nextAttemptAt: null });
    return 'delivered';
  }
  const next = nextAttemptAt(new Date(delivery.createdAt), delivery.attempts.length + 1, now, deps.retryBaseSeconds);
  if (!next) {
    if (await recordAttempt(deps.db, message, attempt, { status: 'failed', nextAttemptAt: null })) await deps.deadLetters.send(message);
    return 'dead_lettered';
  }
  if (await recordAttempt(deps.db, message, attempt, { status: 'pending', nextAttemptAt: next.toISOString() })) await deps.queue.send(message, (next.getTime() - now.getTime()) / 1000);
  return 'retry';
}
