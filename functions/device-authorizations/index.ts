import * as contract from '../../shared/contract/authorizations.js';
import { WithStatus, createHttpHandler, implement } from '../../shared/http/handler.js';
import { observedHttpHandler } from '../../shared/observability/observe.js';
import { countAuthorization } from '../../shared/observability/metrics.js';
import { JobMemory, authorizeUnits } from '../../shared/store/authorizations.js';
import { markSeen } from '../device-presence.js';
import { bindings, dataKeys, db, rateLimiter, tickets } from './deps.js';

/**
 * Jobs this container reserved on are remembered, so their next authorization reserves beside
 * its reads (store/authorizations.ts).
 */
const authorizeDeps = { db, tickets, bindings, jobs: new JobMemory(), dataKeys };

/**
 * POST /v1/device/authorizations, apart from the other device routes (functions/device-api):
 * only this function may Sign with the ticket key, and neither bundle carries the other's code,
 * which keeps the programmers' hot path small (issue 7: ≤ 250 kB, module init ≤ 100 ms).
 */
export const handler = observedHttpHandler(
  createHttpHandler(
    [
      implement(contract.authorizeProgramming, async ({ principal: me, body }) => {
        const [{ authorization, created }] = await Promise.all([
          authorizeUnits(authorizeDeps, { accountId: me.accountId, programmerId: me.programmerId, ...body }),
          markSeen(db, me),
        ]);
        // A retried nonce gets the stored authorization back with 200, never new units.
        if (!created) return new WithStatus(200, authorization);
        countAuthorization(authorization.units);
        return authorization;
      }),
    ],
    { rateLimiter },
  ),
);
