import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type FlashlineEvent, eventsOfChange } from '../domain/events.js';
import type { Db } from './db.js';
import { keys } from './keys.js';
import { type DeliveryQueue, type WebhookView, enqueueDelivery, messageIdOf, webhooksOfAccount } from './webhooks.js';

/** One record of the entity table's change stream, as Lambda hands it over. */
export interface ChangeRecord {
  eventID?: string;
  dynamodb?: {
    Keys?: Record<string, AttributeValue>;
    OldImage?: Record<string, AttributeValue>;
    NewImage?: Record<string, AttributeValue>;
    ApproximateCreationDateTime?: number;
  };
}

/** The events of one stream record, each with the `webhook-id` it is delivered under. */
export function eventsOfRecord(record: ChangeRecord): { event: FlashlineEvent; messageId: string }[] {
  const change = record.dynamodb;
  if (!change?.Keys) return [];
  const key = unmarshall(change.Keys) as { pk: string; sk: string };
  const source = keys.eventSourceOf(key);
  if (!source) return [];
  const oldItem = change.OldImage && unmarshall(change.OldImage);
  const newItem = change.NewImage && unmarshall(change.NewImage);
  // When the write was committed, as the stream recorded it (the same on a replay); not every
  // write moves an item's updatedAt (results only add to counters).
  const at = change.ApproximateCreationDateTime ? new Date(change.ApproximateCreationDateTime * 1000).toISOString() : String(newItem?.updatedAt ?? oldItem?.updatedAt);
  return eventsOfChange(source.kind, source.accountId, oldItem, newItem, at).map((event) => ({
    event,
    // The stream record names the committed write: a replayed batch yields the same ids.
    messageId: messageIdOf(`${record.eventID ?? `${key.pk}\n${key.sk}\n${at}`}\n${event.type}`),
  }));
}

/**
 * Turns a batch of changes into deliveries: each event to each webhook of its account that
 * subscribes to its type. Throws on any failure so Lambda retries the batch; every step is
 * idempotent (deliveries are put once by message id, the worker drops finished ones).
 */
export async function relayChanges(deps: { db: Db; queue: DeliveryQueue }, records: ChangeRecord[]): Promise<number> {
  const hooks = new Map<string, Promise<WebhookView[]>>();
  let published = 0;
  for (const record of records) {
    for (const { event, messageId } of eventsOfRecord(record)) {
      const { accountId } = event.data;
      if (!hooks.has(accountId)) hooks.set(accountId, webhooksOfAccount(deps.db, accountId));
      const subscribers = ((await hooks.get(accountId)) ?? []).filter((hook) => hook.events.includes(event.type as never));
      for (const hook of subscribers) await enqueueDelivery(deps, accountId, hook.webhookId, event, messageId);
      published += 1;
    }
  }
  return published;
}
