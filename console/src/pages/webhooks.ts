import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { Webhook } from '../api.js';
import { ActionFeedback } from '../components/action-feedback.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { ErrorNotice } from '../components/error-notice.js';
import { StatusBadge } from '../components/status-badge.js';
import { TimeAgo, Timestamp } from '../components/time-ago.js';
import { useAction, useConsole, usePagedList, usePolling } from '../hooks.js';
import { can } from '../permissions.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType, describeEvents, lastAttemptOutcome, subscribesToAll, toggleEventType } from '../webhook-events.js';
import { TableScroll } from '../components/table-scroll.js';

/** Deliveries only grow (one per event, kept 30 days): read a page at a time, newest first, like the audit trail. */
const DELIVERIES_PAGE = 20;

/**
 * Webhooks (admins): register a receiver URL for chosen event types (its signing secret shown
 * once), list them (never a secret), send a test event, read each one's delivery attempts, delete.
 */
export function WebhooksPage() {
  const { api, caller } = useConsole();
  const webhooks = usePolling(() => api.listAll(contract.listWebhooks, { query: { limit: 100 } }), null, []);
  const [created, setCreated] = useState<{ webhook: Webhook; secret: string } | undefined>();
  const [deleting, setDeleting] = useState<Webhook | undefined>();
  const [watching, setWatching] = useState<Webhook | undefined>();
  // Bumped after a test event, so the deliveries shown read again and include it.
  const [deliveriesAsked, setDeliveriesAsked] = useState(0);
  const removal = useAction();
  const test = useAction();

  if (!can(caller, contract.listWebhooks)) {
    return html`<h1>Webhooks</h1>
      <p class="empty">Only an admin manages webhooks; you are signed in as ${caller.role}.</p>`;
  }

  const sendTest = async (webhook: Webhook) => {
    removal.clear();
    const sent = await test.run(
      () => api.call(contract.testWebhook, { params: { webhookId: webhook.webhookId } }),
      ({ delivery }) => `Sent a ${delivery.eventType} event to ${webhook.url} (webhook-id ${delivery.messageId}); its attempts are listed below.`,
    );
    if (sent) {
      setWatching(webhook);
      setDeliveriesAsked((value) => value + 1);
    }
  };

  const remove = async (webhook: Webhook) => {
    test.clear();
    const removed = await removal.run(
      () => api.call(contract.deleteWebhook, { params: { webhookId: webhook.webhookId } }),
      () => `Deleted the webhook to ${webhook.url}: it gets no more events, and deliveries still pending for it are cancelled.`,
    );
    if (!removed) return;
    setDeleting(undefined);
    if (watching?.webhookId === webhook.webhookId) setWatching(undefined);
    webhooks.reload();
  };

  return html`
    <h1>Webhooks</h1>
    <p class="help">Flashline posts the events you choose to your receiver's URL, signed per Standard Webhooks, and retries a failed delivery for 24 hours.</p>
    ${created && html`<${CreatedWebhook} created=${created} onDone=${() => setCreated(undefined)} />`}
    ${!created &&
    can(caller, contract.createWebhook) &&
    html`<${CreateWebhookForm}
      onCreated=${(answer: { webhook: Webhook; secret: string }) => {
        setCreated(answer);
        webhooks.reload();
      }}
    />`}
    <${ActionFeedback} action=${test} failedTitle="Could not send the test event" />
    ${removal.done && html`<p class="notice" role="status">${removal.done}</p>`}
    <h2>Webhooks of this account</h2>
    <${ErrorNotice} error=${webhooks.error} title="Could not load the webhooks" />
    ${webhooks.data === undefined && !webhooks.error && html`<p role="status">Loading…</p>`}
    ${webhooks.data && webhooks.data.length === 0 && html`<p class="empty">No webhooks yet.</p>`}
    ${webhooks.data &&
    webhooks.data.length > 0 &&
    html`<${TableScroll} label="Webhooks"><table>
      <caption class="visually-hidden">Webhooks</caption>
      <thead>
        <tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr>
      </thead>
      <tbody>
        ${webhooks.data.map(
          (webhook) => html`<tr key=${webhook.webhookId}>
            <td><code>${webhook.url}</code><div class="details"><code>${webhook.webhookId}</code></div></td>
            <td>${describeEvents(webhook.events)}</td>
            <td><${TimeAgo} at=${webhook.createdAt} /></td>
            <td class="row-actions">
              <button type="button" aria-pressed=${watching?.webhookId === webhook.webhookId} onClick=${() => setWatching(webhook)}>Deliveries<span class="visually-hidden"> of ${webhook.url}</span></button>
              ${can(caller, contract.testWebhook) &&
              html`<button type="button" disabled=${test.busy} onClick=${() => sendTest(webhook)}>Send test event<span class="visually-hidden"> to ${webhook.url}</span></button>`}
              ${can(caller, contract.deleteWebhook) &&
              html`<button type="button" class="danger" onClick=${() => {
                removal.clear();
                setDeleting(webhook);
              }}>Delete<span class="visually-hidden"> ${webhook.url}</span></button>`}
            </td>
          </tr>`,
        )}
      </tbody>
    </table><//>`}
    ${watching && html`<${Deliveries} key=${watching.webhookId} webhook=${watching} asked=${deliveriesAsked} onClose=${() => setWatching(undefined)} />`}
    ${deleting &&
    html`<${ConfirmDialog}
      title="Delete this webhook?"
      message=${`${deleting.url} gets no more events; deliveries still pending for it are cancelled. Its secret cannot be recovered.`}
      confirmLabel="Delete webhook"
      danger=${true}
      busy=${removal.busy}
      error=${removal.error}
      onConfirm=${() => remove(deleting)}
      onCancel=${() => {
        removal.clear();
        setDeleting(undefined);
      }}
    />`}
  `;
}

function CreateWebhookForm({ onCreated }: { onCreated: (answer: { webhook: Webhook; secret: string }) => void }) {
  const { api } = useConsole();
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<WebhookEventType[]>([]);
  const action = useAction();
  const all = subscribesToAll(events);

  const submit = async (event: Event) => {
    event.preventDefault();
    const answer = await action.run(() => api.call(contract.createWebhook, { body: { url: url.trim(), events } }), () => '');
    if (!answer) return;
    setUrl('');
    setEvents([]);
    onCreated(answer.value);
  };

  return html`
    <form class="panel" onSubmit=${submit} aria-labelledby="create-webhook-title">
      <h2 id="create-webhook-title">Add a webhook</h2>
      <div class="grid-form">
        <label for="webhook-url">Receiver URL</label>
        <input id="webhook-url" type="url" required maxlength="2048" autocomplete="off" placeholder="https://mes.example.com/flashline" aria-describedby="webhook-url-help"
          value=${url} onInput=${(changed: Event) => setUrl((changed.target as HTMLInputElement).value)} />
        <span id="webhook-url-help" class="help">https only; never a private, loopback or link-local address (the local stack also takes http://localhost and 127.0.0.1).</span>
        <fieldset>
          <legend>Events</legend>
          <label class="check"><input type="checkbox" checked=${all}
            onChange=${(changed: Event) => setEvents((changed.target as HTMLInputElement).checked ? [...WEBHOOK_EVENT_TYPES] : [])} /> <strong>All events</strong></label>
          ${WEBHOOK_EVENT_TYPES.map(
            (type) => html`<label class="check" key=${type}><input type="checkbox" checked=${events.includes(type)}
              onChange=${(changed: Event) => setEvents((current) => toggleEventType(current, type, (changed.target as HTMLInputElement).checked))} /> <code>${type}</code></label>`,
          )}
        </fieldset>
      </div>
      <${ErrorNotice} error=${action.error} title="Could not add the webhook" />
      ${events.length === 0 && html`<p class="help">Tick at least one event type.</p>`}
      <button type="submit" class="primary" disabled=${action.busy || events.length === 0}>${action.busy ? 'Adding…' : 'Add webhook'}</button>
    </form>
  `;
}

/** The secret exists only in this answer: shown once, forgotten on Done (the API keeps it encrypted and never shows it again). */
function CreatedWebhook({ created, onDone }: { created: { webhook: Webhook; secret: string }; onDone: () => void }) {
  const [copied, setCopied] = useState<string | undefined>();
  const copy = () =>
    navigator.clipboard.writeText(created.secret).then(
      () => setCopied('Copied to the clipboard.'),
      () => setCopied('The browser did not allow the clipboard: select the secret and copy it by hand.'),
    );
  return html`
    <section class="secret-panel" aria-labelledby="webhook-secret-title">
      <h2 id="webhook-secret-title">Webhook added: ${created.webhook.url}</h2>
      <p>Give this signing secret to your receiver now: it verifies each delivery's <code>webhook-signature</code> with it. It is <strong>shown only now</strong>; Flashline never shows it again.</p>
      <dl>
        <dt>Signing secret</dt>
        <dd><code class="secret">${created.secret}</code></dd>
      </dl>
      <div class="toolbar">
        <button type="button" class="primary" onClick=${copy}>Copy secret</button>
        <button type="button" onClick=${onDone}>Done</button>
        ${copied && html`<span role="status">${copied}</span>`}
      </div>
    </section>
  `;
}

/** The delivery attempts of one webhook, newest event first, a page at a time; Refresh reads the first page again. */
function Deliveries({ webhook, asked, onClose }: { webhook: Webhook; asked: number; onClose: () => void }) {
  const { api } = useConsole();
  const { items, cursor, error, busy, load } = usePagedList((after) => api.call(contract.listWebhookDeliveries, { params: { webhookId: webhook.webhookId }, query: { limit: DELIVERIES_PAGE, cursor: after } }));

  useEffect(() => {
    void load();
  }, [asked]);

  return html`
    <section class="panel" aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Deliveries to ${webhook.url}</h2>
      <div class="toolbar">
        <button type="button" onClick=${() => load()} disabled=${busy}>Refresh</button>
        <button type="button" onClick=${onClose}>Close</button>
      </div>
      <${ErrorNotice} error=${error} title="Could not load the deliveries" />
      ${items === undefined && !error && html`<p role="status">Loading…</p>`}
      ${items && items.length === 0 && html`<p class="empty">Nothing delivered yet: send a test event, or wait for one of its events.</p>`}
      ${items &&
      items.length > 0 &&
      html`<${TableScroll} label="Deliveries"><table>
        <caption class="visually-hidden">Deliveries, newest event first</caption>
        <thead>
          <tr><th scope="col">Event at</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last attempt</th><th scope="col">Next attempt</th></tr>
        </thead>
        <tbody>
          ${items.map(
            (delivery) => html`<tr key=${delivery.messageId}>
              <td><${Timestamp} at=${delivery.eventTimestamp} /><div class="details"><code>${delivery.messageId}</code></div></td>
              <td><code>${delivery.eventType}</code></td>
              <td><${StatusBadge} status=${delivery.status} /></td>
              <td>${delivery.attempts.length}</td>
              <td>${lastAttemptOutcome(delivery)}${delivery.attempts.length > 0 && html` · <${TimeAgo} at=${delivery.attempts.at(-1)!.at} />`}</td>
              <td><${Timestamp} at=${delivery.nextAttemptAt} /></td>
            </tr>`,
          )}
        </tbody>
      </table><//>`}
      ${cursor && html`<button type="button" onClick=${() => load(cursor)} disabled=${busy}>Load older deliveries</button>`}
    </section>
  `;
}
