import * as contract from '../../../shared/contract/index.js';
import { implement } from '../../../shared/http/handler.js';
import { actorOf } from '../../../shared/http/principal.js';
import * as webhooks from '../../../shared/store/webhooks.js';
import { allowPrivateWebhooks, db, deliveryQueue, webhookSecrets } from '../deps.js';

export const webhookRoutes = [
  implement(contract.createWebhook, async ({ principal, body }) =>
    webhooks.createWebhook({ db, secrets: webhookSecrets, allowPrivate: allowPrivateWebhooks }, principal.accountId, body, actorOf(principal)),
  ),
  implement(contract.listWebhooks, async ({ principal, query }) => webhooks.listWebhooks(db, principal.accountId, query)),
  implement(contract.getWebhook, async ({ principal, params }) => ({ webhook: await webhooks.getWebhook(db, principal.accountId, params.webhookId) })),
  implement(contract.deleteWebhook, async ({ principal, params }) => {
    await webhooks.deleteWebhook(db, principal.accountId, params.webhookId, actorOf(principal));
    return undefined;
  }),
  implement(contract.listWebhookDeliveries, async ({ principal, params, query }) => webhooks.listDeliveries(db, principal.accountId, params.webhookId, query)),
  implement(contract.testWebhook, async ({ principal, params }) => ({
    delivery: await webhooks.sendTestEvent({ db, queue: deliveryQueue }, principal.accountId, params.webhookId),
  })),
];
