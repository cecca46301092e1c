/**
 * Events (api.md "Events and webhooks") are derived from the entity table's change stream: each
 * change of a job, image, authorization or programmer item is compared old against new, and what
 * changed becomes zero or more events. The stream carries every committed write exactly once and
 * in order per item, so the event is as atomic as the write itself (a change-data-capture
 * outbox: no extra item is written, the authorization path pays nothing). Pure: the relay hands
 * in the unmarshalled images.
 */
import { guardrailCrossed, storedAutoPause } from './guardrail.js';

export const EVENT_TYPES = [
  'job.completed',
  'job.paused',
  'job.resumed',
  'job.restarted',
  'job.deleted',
  'job.yield_below_threshold',
  'image.available',
  'image.rejected',
  'programmer.offline',
  'authorization.released',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Sent only by `POST /v1/webhooks/{id}/test`; never subscribed to. */
export const TEST_EVENT_TYPE = 'webhook.test' as const;

export interface FlashlineEvent {
  type: EventType | typeof TEST_EVENT_TYPE;
  timestamp: string;
  data: { accountId: string } & Record<string, unknown>;
}

type Item = Record<string, unknown>;

const num = (value: unknown) => Number(value ?? 0);
const remaining = (item: Item) => (item.maxCount === undefined || item.maxCount === null ? null : Math.max(0, num(item.maxCount) - num(item.authorized)));
const counters = (item: Item) => ({ authorized: num(item.authorized), succeeded: num(item.succeeded), failed: num(item.failed), returned: num(item.returned), remaining: remaining(item) });

/**
 * The events of one committed change of an entity item. `oldItem` is undefined for a new item,
 * `newItem` for a removed one. `at` is when the write happened (the item's own `updatedAt` where
 * it has one, so a replayed stream record yields the same event). Kind and account come from
 * the item's key (store/keys.ts), as the authorization item carries no type attribute.
 */
export type EventSourceKind = 'job' | 'image' | 'authorization' | 'programmer';

export function eventsOfChange(kind: EventSourceKind, accountId: string, oldItem: Item | undefined, newItem: Item | undefined, at: string): FlashlineEvent[] {
  if (!newItem) return [];
  const event = (type: EventType, data: Record<string, unknown>): FlashlineEvent => ({ type, timestamp: at, data: { accountId, ...data } });
  switch (kind) {
    case 'job':
      return oldItem ? jobEvents(oldItem, newItem, event) : [];
    case 'image':
      if (oldItem?.status !== 'pending_upload' || (newItem.status !== 'available' && newItem.status !== 'rejected')) return [];
      return [event(newItem.status === 'available' ? 'image.available' : 'image.rejected', { imageId: newItem.imageId, jobId: newItem.jobId, factoryId: newItem.factoryId, status: newItem.status })];
    case 'authorization':
      if (oldItem?.state !== 'granted' || newItem.state !== 'released') return [];
      return [event('authorization.released', { authorizationId: newItem.authorizationId, jobId: newItem.jobId, programmerId: newItem.programmerId, ...(newItem.release as Item) })];
    case 'programmer':
      if (!newItem.offlineSince || newItem.offlineSince === oldItem?.offlineSince) return [];
      return [event('programmer.offline', { programmerId: newItem.programmerId, factoryId: newItem.factoryId, lastSeenAt: newItem.lastSeenAt ?? null, offlineSince: newItem.offlineSince })];
  }
}

function jobEvents(oldItem: Item, newItem: Item, event: (type: EventType, data: Record<string, unknown>) => FlashlineEvent): FlashlineEvent[] {
  const ids = { jobId: newItem.jobId, factoryId: newItem.factoryId, run: num(newItem.run) };
  const by = newItem.statusChangedBy ?? null;
  const events: FlashlineEvent[] = [];
  if (newItem.status === 'deleted') return oldItem.status === 'deleted' ? [] : [event('job.deleted', { ...ids, by, counters: counters(newItem) })];
  if (num(newItem.run) > num(oldItem.run)) events.push(event('job.restarted', { ...ids, by, previousRun: num(oldItem.run) }));
  else if (oldItem.status === 'active' && newItem.status === 'paused') events.push(event('job.paused', { ...ids, by, counters: counters(newItem) }));
  else if (oldItem.status === 'paused' && newItem.status === 'active') events.push(event('job.resumed', { ...ids, by }));
  const autoPause = storedAutoPause(newItem);
  const sameRun = num(newItem.run) === num(oldItem.run);
  if (sameRun && autoPause && !guardrailCrossed(autoPause, num(oldItem.succeeded), num(oldItem.failed)) && guardrailCrossed(autoPause, num(newItem.succeeded), num(newItem.failed))) {
    const total = num(newItem.succeeded) + num(newItem.failed);
    events.push(event('job.yield_below_threshold', { ...ids, autoPause, yield: num(newItem.succeeded) / total, counters: counters(newItem) }));
  }
  // Completed = the count limit used up (api.md): the change that takes `remaining` to 0 within a run.
  const before = remaining(oldItem);
  const after = remaining(newItem);
  if (after === 0 && (!sameRun || before === null || before > 0) && newItem.status !== 'deleted') events.push(event('job.completed', { ...ids, counters: counters(newItem) }));
  return events;
}

