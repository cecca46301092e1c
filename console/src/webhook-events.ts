import { EventType } from '../../shared/contract/index.js';
import type { Webhook, WebhookDelivery } from './api.js';

export type WebhookEventType = Webhook['events'][number];

/** What a webhook may subscribe to, in the contract's order: the page offers exactly what the API accepts. */
export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = EventType.options;

/** The chosen types after ticking one on or off, kept in the contract's order so the request reads like the list. */
export function toggleEventType(chosen: readonly WebhookEventType[], type: WebhookEventType, on: boolean): WebhookEventType[] {
  return WEBHOOK_EVENT_TYPES.filter((candidate) => (candidate === type ? on : chosen.includes(candidate)));
}

export function subscribesToAll(events: readonly WebhookEventType[]): boolean {
  return WEBHOOK_EVENT_TYPES.every((type) => events.includes(type));
}

/** A webhook's subscription as a table cell: ten type names say less than "All events". */
export function describeEvents(events: readonly WebhookEventType[]): string {
  return subscribesToAll(events) ? `All events (${WEBHOOK_EVENT_TYPES.length})` : events.join(', ');
}

/**
 * How the last attempt of a delivery went, in words: the receiver's HTTP status when it answered,
 * else why it did not (timeout, refused address, connection error).
 */
export function lastAttemptOutcome(delivery: Pick<WebhookDelivery, 'attempts'>): string {
  const last = delivery.attempts.at(-1);
  if (!last) return 'not attempted yet';
  if (last.status !== null) return `HTTP ${last.status}${last.error ? `: ${last.error}` : ''}`;
  return last.error ?? 'no answer';
}
