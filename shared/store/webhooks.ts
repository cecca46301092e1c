import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { type EventType, type FlashlineEvent, TEST_EVENT_TYPE } from '../domain/events.js';
import { newId } from '../domain/ids.js';
import { MAX_WEBHOOKS_PER_ACCOUNT, webhookUrlProblems } from '../domain/webhooks.js';
import { auditItem } from './audit.js';
import { invalidCursor } from './cursors.js';
import { type Db, cancelledConditions, isConditionFailure } from './db.js';
import { SK_PREFIX, keys } from './keys.js';
import { type Page, type PageRequest, accountPage } from './pages.js';

export interface WebhookView {
  webhookId: string;
  url: string;
  events: EventType[];
  createdAt: string;
}

export interface DeliveryAttempt {
  at: string;
  /** The receiver's HTTP status; null when none came (refused address, timeout, connection error). */
  status: number | null;
  error: string | null;
  durationMs: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface DeliveryView {
  /** The `webhook-id` header: the same on every attempt, the receiver's de-duplication key. */
  messageId: string;
  eventType: string;
  eventTimestamp: string;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  nextAttemptAt: string | null;
  createdAt: string;
}

/** What a queued delivery names: the delivery item holds the rest. */
export interface DeliveryMessage {
  accountId: string;
  webhookId: string;
  eventAt: string;
  messageId: string;
}

/**
 * Webhook secrets at rest: encrypted with the stack's data key, the account and webhook ids as
 * encryption context (a ciphertext copied onto another webhook does not decrypt).
 */
export class SecretBox {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async seal(plaintext: string, context: Record<string, string>): Promise<string> {
    const { CiphertextBlob } = await this.kms.send(new EncryptCommand({ KeyId: this.keyId, Plaintext: Buffer.from(plaintext, 'utf8'), EncryptionContext: context }));
    return Buffer.from(CiphertextBlob!).toString('base64');
  }

  async open(ciphertext: string, context: Record<string, string>): Promise<string> {
    const { Plaintext } = await this.kms.send(new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: Buffer.from(ciphertext, 'base64'), EncryptionContext: context }));
    return Buffer.from(Plaintext!).toString('utf8');
  }
}

/** The delivery queue: a message per attempt to make, delayed up to SQS's 15 minutes. */
export class DeliveryQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: DeliveryMessage, delaySeconds = 0): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message), DelaySeconds: Math.max(0, Math.min(900, Math.ceil(delaySeconds))) }));
  }
}

export const secretContext = (accountId: string, webhookId: string) => ({ accountId, webhookId });

export function toWebhookView(item: Record<string, unknown>): WebhookView {
  return { webhookId: item.webhookId as string, url: item.url as string, events: item.events as EventType[], createdAt: item.createdAt as string };
}

export interface WebhookRecord extends WebhookView {
  secretCiphertext: string;
}

/**
 * Registers a webhook and makes its signing secret (Standard Webhooks: `whsec_` + base64 of 24
 * random bytes), returned once and stored only encrypted. At most MAX_WEBHOOKS_PER_ACCOUNT a
 * account: the count is read first, so two concurrent creates may pass it by one each.
 */
export async function createWebhook(
  deps: { db: Db; secrets: SecretBox; allowPrivate: boolean },
  accountId: string,
  input: { url: string; events: EventType[] },
  actor: string,
): Promise<{ webhook: WebhookView; secret: string }> {
  const problems = webhookUrlProblems(input.url, deps.allowPrivate);
  if (problems.length > 0) throw new ValidationError(problems.map((message) => ({ path: 'url', message })));
  const { db } = deps;
  const { Count } = await db.doc.send(
    new QueryCommand({ TableName: db.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': keys.accountPartition(accountId), ':prefix': SK_PREFIX.webhook }, Select: 'COUNT' }),
  );
  if ((Count ?? 0) >= MAX_WEBHOOKS_PER_ACCOUNT) throw new ConflictError('webhook_limit', `An account has at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks`, { limit: MAX_WEBHOOKS_PER_ACCOUNT });
  const webhookId = newId('wh');
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const at = new Date().toISOString();
  const webhook: WebhookView = { webhookId, url: input.url, events: [...new Set(input.events)], createdAt: at };
  const secretCiphertext = await deps.secrets.seal(secret, secretContext(accountId, webhookId));
  await db.doc.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: db.table, Item: { ...keys.webhook(accountId, webhookId), type: 'webhook', ...webhook, secretCiphertext }, ConditionExpression: 'attribute_not_exists(pk)' } },
        auditItem(db, { accountId, actor, action: 'webhook.create', targetType: 'webhook', targetId: webhookId, details: { url: webhook.url, events: webhook.events } }, at),
      ],
    }),
  );
  return { webhook, secret };
}

export async function getWebhookRecord(db: Db, accountId: string, webhookId: string): Promise<WebhookRecord> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.webhook(accountId, webhookId), ConsistentRead: true }));
  if (!Item) throw new NotFoundError('Webhook');
  return { ...toWebhookView(Item), secretCiphertext: Item.secretCiphertext as string };
}

export async function getWebhook(db: Db, accountId: string, webhookId: string): Promise<WebhookView> {
  const { secretCiphertext: _secret, ...view } = await getWebhookRecord(db, accountId, webhookId);
  return view;
}

export function listWebhooks(db: Db, accountId: string, page: PageRequest): Promise<Page<WebhookView>> {
  return accountPage(db, accountId, SK_PREFIX.webhook, page, toWebhookView);
}

/** Every webhook of an account, for the relay (an account has at most MAX_WEBHOOKS_PER_ACCOUNT). */
export async function webhooksOfAccount(db: Db, accountId: string): Promise<WebhookView[]> {
  const { Items } = await db.doc.send(
    new QueryCommand({ TableName: db.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': keys.accountPartition(accountId), ':prefix': SK_PREFIX.webhook } }),
  );
  return (Items ?? []).map(toWebhookView);
}

/** Deletes a webhook: deliveries still queued for it find it gone and are cancelled. */
export async function deleteWebhook(db: Db, accountId: string, webhookId: string, actor: string): Promise<void> {
  const at = new Date().toISOString();
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: db.table, Key: keys.webhook(accountId, webhookId), ConditionExpression: 'attribute_exists(pk)' } },
          auditItem(db, { accountId, actor, action: 'webhook.delete', targetType: 'webhook', targetId: webhookId }, at),
        ],
      }),
    );
  } catch (error) {
    if (cancelledConditions(error)?.[0]) throw new NotFoundError('Webhook');
    throw error;
  }
}

/** Deliveries are history: kept 30 days. */
export const DELIVERY_RETENTION_DAYS = 30;

/** The `webhook-id` of an event: derived from what made it, so a replayed change yields the same id. */
export function messageIdOf(source: string): string {
  return `msg_${createHash('sha256').update(source).digest('base64url').slice(0, 27)}`;
}

/**
 * Records a delivery of `event` to `webhook` and queues its first attempt. The item is put only
 * once (a replayed change finds it); the message is sent every time, so a relay that died
 * between the two still gets its delivery out, and the worker drops messages of deliveries
 * already done.
 */
export async function enqueueDelivery(deps: { db: Db; queue: DeliveryQueue }, accountId: string, webhookId: string, event: FlashlineEvent, messageId: string, now = new Date()): Promise<DeliveryMessage> {
  const { db } = deps;
  const at = now.toISOString();
  const item = {
    ...keys.webhookDelivery(accountId, webhookId, event.timestamp, messageId),
    type: 'delivery',
    messageId,
    webhookId,
    eventType: event.type,
    eventTimestamp: event.timestamp,
    payload: JSON.stringify(event),
    status: 'pending',
    attempts: [],
    createdAt: at,
    expiresAt: Math.floor(now.getTime() / 1000) + DELIVERY_RETENTION_DAYS * 86_400,
  };
  try {
    await db.doc.send(new PutCommand({ TableName: db.events, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
  const message = { accountId, webhookId, eventAt: event.timestamp, messageId };
  await deps.queue.send(message);
  return message;
}

export interface DeliveryRecord extends DeliveryView {
  payload: string;
}

export function toDeliveryView(item: Record<string, unknown>): DeliveryView {
  return {
    messageId: item.messageId as string,
    eventType: item.eventType as string,
    eventTimestamp: item.eventTimestamp as string,
    status: item.status as DeliveryStatus,
    attempts: (item.attempts as DeliveryAttempt[] | undefined) ?? [],
    nextAttemptAt: (item.nextAttemptAt as string | undefined) ?? null,
    createdAt: item.createdAt as string,
  };
}

export async function getDelivery(db: Db, message: DeliveryMessage): Promise<DeliveryRecord | undefined> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.events, Key: keys.webhookDelivery(message.accountId, message.webhookId, message.eventAt, message.messageId), ConsistentRead: true }));
  return Item ? { ...toDeliveryView(Item), payload: Item.payload as string } : undefined;
}

/**
 * Appends an attempt and moves the delivery on, only while it is still pending (a duplicate
 * message racing this one cannot turn a delivered one back into pending).
 */
export async function recordAttempt(
  db: Db,
  message: DeliveryMessage,
  attempt: DeliveryAttempt | undefined,
  next: { status: DeliveryStatus; nextAttemptAt: string | null },
): Promise<boolean> {
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.events,
        Key: keys.webhookDelivery(message.accountId, message.webhookId, message.eventAt, message.messageId),
        UpdateExpression: attempt ? 'SET attempts = list_append(attempts, :attempt), #status = :status, nextAttemptAt = :next' : 'SET #status = :status, nextAttemptAt = :next',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': next.status, ':next': next.nextAttemptAt, ':pending': 'pending', ...(attempt && { ':attempt': [attempt] }) },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** A webhook's deliveries, newest first; 404 for another account's webhook (or none). */
export async function listDeliveries(db: Db, accountId: string, webhookId: string, page: PageRequest): Promise<Page<DeliveryView>> {
  await getWebhook(db, accountId, webhookId);
  const pk = keys.webhookDeliveriesPartition(accountId, webhookId);
  const position = await db.cursors.open(pk, page.cursor);
  if (position !== undefined && !/^\d{4}-\d\d-\d\dT[^#]+#msg_[A-Za-z0-9_-]+$/.test(position)) throw invalidCursor();
  const output = await db.doc.send(
    new QueryCommand({
      TableName: db.events,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ScanIndexForward: false,
      Limit: page.limit,
      ...(position && { ExclusiveStartKey: { pk, sk: position } }),
    }),
  );
  const items = (output.Items ?? []).map(toDeliveryView);
  const last = output.LastEvaluatedKey?.sk as string | undefined;
  return { items, nextCursor: last ? await db.cursors.seal(pk, last) : null };
}

/** `POST /v1/webhooks/{id}/test`: a `webhook.test` event, queued for this webhook alone. */
export async function sendTestEvent(deps: { db: Db; queue: DeliveryQueue }, accountId: string, webhookId: string): Promise<DeliveryView> {
  await getWebhook(deps.db, accountId, webhookId);
  const now = new Date();
  const event: FlashlineEvent = { type: TEST_EVENT_TYPE, timestamp: now.toISOString(), data: { accountId, webhookId } };
  const message = await enqueueDelivery(deps, accountId, webhookId, event, messageIdOf(`test\n${randomUUID()}`), now);
  const { payload: _payload, ...view } = (await getDelivery(deps.db, message))!;
  return view;
}
