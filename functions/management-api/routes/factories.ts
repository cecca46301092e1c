import * as contract from '../../../shared/contract/index.js';
import { implement } from '../../../shared/http/handler.js';
import { actorOf } from '../../../shared/http/principal.js';
import * as factories from '../../../shared/store/factories.js';
import { db } from '../deps.js';

export const factoryRoutes = [
  implement(contract.listFactories, async ({ principal, query }) => factories.listFactories(db, principal.accountId, query, principal)),
  implement(contract.createFactory, async ({ principal, body }) => ({
    factory: await factories.createFactory(db, principal.accountId, body.name, actorOf(principal)),
  })),
  implement(contract.getFactory, async ({ principal, params }) => ({ factory: await factories.getFactory(db, principal.accountId, params.factoryId) })),
  implement(contract.renameFactory, async ({ principal, params, body }) => ({
    factory: await factories.updateFactory(db, principal.accountId, params.factoryId, body, actorOf(principal)),
  })),
  implement(contract.deleteFactory, async ({ principal, params }) => {
    await factories.deleteFactory(db, principal.accountId, params.factoryId, actorOf(principal));
    return undefined;
  }),
];
