import * as z from 'zod';
import { EVENT_TYPES } from '../domain/events.js';
import { Id, ListQuery, Timestamp, listOf } from './common.js';
import { defineRoute } from './route.js';

export const EventType = z.enum(EVENT_TYPES).meta({ id: 'EventType' });

export const Webhook = z
  .object({
    webhookId: Id,
    url: z.string(),
    events: z.array(EventType),
    createdAt: Timestamp,
  })
  .meta({ id: 'Webhook' });

export const WebhookDelivery = z
  .object({
    messageId: z.string().meta({ description: 'The `webhook-id` header of every attempt: receivers de-duplicate by it' }),
    eventType: z.string(),
    eventTimestamp: Timestamp,
    status: z.enum(['pending', 'delivered', 'failed', 'cancelled']).meta({ description: '`failed`: no attempt succeeded within 24 hours; `cancelled`: the webhook was deleted first' }),
    attempts: z.array(
      z.object({
        at: Timestamp,
        status: z.number().int().nullable().meta({ description: "The receiver's HTTP status; null when none came (timeout, refused address, connection error)" }),
        error: z.string().nullable(),
        durationMs: z.number().int(),
      }),
    ),
    nextAttemptAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: 'WebhookDelivery' });

const WebhookParams = z.object({ webhookId: Id });

/**
 * A DNS label. Not one in IDNA's ASCII form (`xn--…`): whether its punycode decodes is more
 * than a pattern can say, and the server's URL parser refuses one that does not.
 */
const HOST_LABEL = '(?![Xx][Nn]--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** 1–65535, as the URL parser takes a port: a pattern of digit counts alone let 72932 through. */
const PORT = '(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})';
/**
 * The shape of a receiver's URL, in the schema so the document says it: https to a DNS name
 * (a dotted name ending in letters, so never an IP address, whose private ranges the server
 * could only refuse after the schema said yes), or plain http to the loopback names the local
 * stack allows. The server still refuses credentials in it and, outside the local stack, http.
 */
export const WEBHOOK_URL = new RegExp(
  `^(?:https://${HOST_LABEL}(?:\\.${HOST_LABEL})*\\.[A-Za-z]{2,63}|http://(?:localhost|127\\.0\\.0\\.1|\\[::1\\]))(?::${PORT})?(?:[/?#][\\x21-\\x7e]*)?$`,
);

const CreateWebhookBody = z
  .object({
    url: z
      .string()
      .min(1)
      .max(2048)
      .regex(WEBHOOK_URL, 'must be an https URL naming a DNS host (http only to localhost or 127.0.0.1 on the local stack)')
      .meta({ description: 'https URL of the receiver, naming a DNS host (ASCII labels, not xn-- ones), not an IP address (http://localhost or 127.0.0.1 only on the local stack); never a private, loopback or link-local address' }),
    events: z.array(EventType).min(1).max(EVENT_TYPES.length),
  })
  .strict();

export const createWebhook = defineRoute({
  operationId: 'createWebhook',
  method: 'POST',
  path: '/v1/webhooks',
  summary: 'Register a webhook: the events it names are delivered to its URL, signed per Standard Webhooks',
  description:
    'The answer carries the signing `secret` (`whsec_…`) once; it is stored encrypted and never shown again. Deliveries carry `webhook-id`, ' +
    '`webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed by the base64 part of the secret), are made at least once ' +
    'and retried with exponential backoff for 24 hours; receivers de-duplicate by `webhook-id`.',
  access: { kind: 'account', minimumRole: 'admin' },
  body: CreateWebhookBody,
  successStatus: 201,
  response: z.object({ webhook: Webhook, secret: z.string().startsWith('whsec_') }),
  errors: ['webhook_limit'],
  idempotent: false,
});

export const listWebhooks = defineRoute({
  operationId: 'listWebhooks',
  method: 'GET',
  path: '/v1/webhooks',
  summary: 'List the webhooks of the account (never their secrets)',
  access: { kind: 'account', minimumRole: 'admin' },
  query: ListQuery,
  successStatus: 200,
  response: listOf(Webhook),
  idempotent: true,
});

export const getWebhook = defineRoute({
  operationId: 'getWebhook',
  method: 'GET',
  path: '/v1/webhooks/{webhookId}',
  summary: 'Read a webhook (never its secret)',
  access: { kind: 'account', minimumRole: 'admin' },
  params: WebhookParams,
  successStatus: 200,
  response: z.object({ webhook: Webhook }),
  idempotent: true,
});

export const deleteWebhook = defineRoute({
  operationId: 'deleteWebhook',
  method: 'DELETE',
  path: '/v1/webhooks/{webhookId}',
  summary: 'Delete a webhook; deliveries still pending for it are cancelled',
  access: { kind: 'account', minimumRole: 'admin' },
  params: WebhookParams,
  successStatus: 204,
  response: z.undefined(),
  idempotent: false,
});

export const listWebhookDeliveries = defineRoute({
  operationId: 'listWebhookDeliveries',
  method: 'GET',
  path: '/v1/webhooks/{webhookId}/deliveries',
  summary: 'The deliveries of a webhook, newest event first, each with its attempts',
  access: { kind: 'account', minimumRole: 'admin' },
  params: WebhookParams,
  query: ListQuery,
  successStatus: 200,
  response: listOf(WebhookDelivery),
  idempotent: true,
});

export const testWebhook = defineRoute({
  operationId: 'testWebhook',
  method: 'POST',
  path: '/v1/webhooks/{webhookId}/test',
  summary: 'Send a `webhook.test` event to the webhook now (delivered and retried like any other)',
  access: { kind: 'account', minimumRole: 'admin' },
  params: WebhookParams,
  successStatus: 201,
  response: z.object({ delivery: WebhookDelivery }),
  idempotent: false,
});
