import * as contract from '../../../shared/contract/index.js';
import { implement } from '../../../shared/http/handler.js';
import { actorOf } from '../../../shared/http/principal.js';
import * as programmers from '../../../shared/store/programmers.js';
import { db } from '../deps.js';

export const programmerRoutes = [
  implement(contract.provisionProgrammer, async ({ principal, body, baseUrl }) => {
    const { programmer, token } = await programmers.provisionProgrammer(db, principal.accountId, body, actorOf(principal));
    return {
      programmer,
      credentials: {
        endpoint: baseUrl,
        accountId: principal.accountId,
        keyId: programmer.programmerId,
        programmerId: programmer.programmerId,
        token,
        role: 'programmer' as const,
      },
    };
  }),
  implement(contract.listProgrammers, async ({ principal, query }) => programmers.listProgrammers(db, principal.accountId, query, principal)),
  implement(contract.getProgrammer, async ({ principal, params }) => ({
    programmer: await programmers.getProgrammer(db, principal.accountId, params.programmerId),
  })),
  implement(contract.updateProgrammer, async ({ principal, params, body }) => ({
    programmer: await programmers.updateProgrammer(db, principal.accountId, params.programmerId, body, actorOf(principal)),
  })),
  implement(contract.deprovisionProgrammer, async ({ principal, params }) => {
    await programmers.deprovisionProgrammer(db, principal.accountId, params.programmerId, actorOf(principal));
    return undefined;
  }),
];
