import type { Command } from 'commander';
import * as contract from '../../shared/contract/index.js';
import { EVENT_TYPES } from '../../shared/domain/events.js';
import { YES_HELP } from '../options.js';
import { formatTime, renderFields, renderTable } from '../output.js';
import type { CommandKit } from '../program.js';

type EventTypeName = (typeof EVENT_TYPES)[number];

/** `--events job.paused,job.resumed` (or `all`), checked here so a typo names the bad type. */
function eventsOption(value: string): EventTypeName[] {
  if (value === 'all') return [...EVENT_TYPES];
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(EVENT_TYPES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) throw new Error(`unknown event type(s) ${unknown.join(', ') || '(none)'}; known: ${EVENT_TYPES.join(', ')} or all`);
  return names as EventTypeName[];
}

export function registerWebhookCommands(program: Command, kit: CommandKit): void {
  const webhooks = program.command('webhooks').description('signed event deliveries to your URLs (admin)');

  webhooks
    .command('create')
    .description('register a webhook; prints its signing secret, which is never shown again')
    .argument('<url>', 'https URL of your receiver')
    .requiredOption('--events <types>', `comma-separated event types, or all (${EVENT_TYPES.join(', ')})`, eventsOption)
    .action(
      kit.action(async (context, url: string, options: { events: EventTypeName[] }) => {
        const created = await context.client().call(contract.createWebhook, { body: { url, events: options.events } });
        context.print(created, () =>
          renderFields([
            ['Webhook', `${created.webhook.webhookId} → ${created.webhook.url}`],
            ['Events', created.webhook.events.join(', ')],
            ['Secret', `${created.secret} (shown once: give it to your receiver to verify webhook-signature)`],
          ]),
        );
      }),
    );

  webhooks
    .command('ls')
    .description('list the webhooks (never their secrets)')
    .action(
      kit.action(async (context) => {
        const items = await context.client().listAll(contract.listWebhooks, { query: { limit: 100 } });
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'WEBHOOK', value: (w) => w.webhookId },
            { header: 'URL', value: (w) => w.url },
            { header: 'EVENTS', value: (w) => w.events.join(',') },
            { header: 'CREATED', value: (w) => formatTime(w.createdAt) },
          ]),
        );
      }),
    );

  webhooks
    .command('rm')
    .description('delete a webhook; its pending deliveries are cancelled')
    .argument('<webhookId>')
    .option('-y, --yes', YES_HELP)
    .action(
      kit.action(async (context, webhookId: string, options: { yes?: boolean }) => {
        await context.confirmation('webhooks rm', options.yes)(`Delete webhook ${webhookId}? Its receiver gets no more events.`);
        await context.client().call(contract.deleteWebhook, { params: { webhookId } });
        context.print({ webhookId, deleted: true }, () => `Deleted webhook ${webhookId}\n`);
      }),
    );

  webhooks
    .command('deliveries')
    .description('the deliveries of a webhook, newest first, with their attempts')
    .argument('<webhookId>')
    .action(
      kit.action(async (context, webhookId: string) => {
        const { items } = await context.client().call(contract.listWebhookDeliveries, { params: { webhookId }, query: { limit: 50 } });
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'EVENT AT', value: (d) => formatTime(d.eventTimestamp) },
            { header: 'TYPE', value: (d) => d.eventType },
            { header: 'STATUS', value: (d) => d.status },
            { header: 'ATTEMPTS', value: (d) => d.attempts.map((a) => a.status ?? a.error ?? '?').join(' ') },
            { header: 'NEXT', value: (d) => formatTime(d.nextAttemptAt) },
            { header: 'WEBHOOK-ID', value: (d) => d.messageId },
          ]),
        );
      }),
    );

  webhooks
    .command('test')
    .description('send a webhook.test event to the webhook now')
    .argument('<webhookId>')
    .action(
      kit.action(async (context, webhookId: string) => {
        const { delivery } = await context.client().call(contract.testWebhook, { params: { webhookId } });
        context.print({ delivery }, () => `Queued webhook.test as ${delivery.messageId}; see: flashline webhooks deliveries ${webhookId}\n`);
      }),
    );
}
