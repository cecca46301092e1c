import * as contract from '../../../shared/contract/index.js';
import { implement } from '../../../shared/http/handler.js';
import { actorOf } from '../../../shared/http/principal.js';
import * as groups from '../../../shared/store/groups.js';
import { db } from '../deps.js';

export const groupRoutes = [
  implement(contract.createGroup, async ({ principal, params, body }) => ({
    group: await groups.createGroup(db, principal.accountId, params.factoryId, body.name, actorOf(principal)),
  })),
  implement(contract.listGroups, async ({ principal, params, query }) => groups.listGroups(db, principal.accountId, params.factoryId, query)),
  implement(contract.deleteGroup, async ({ principal, params }) => {
    await groups.deleteGroup(db, principal.accountId, params.groupId, actorOf(principal));
    return undefined;
  }),
];
