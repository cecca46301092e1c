import * as contract from '../../shared/contract/certificates.js';
import { WithStatus, createHttpHandler, implement } from '../../shared/http/handler.js';
import type { Principal } from '../../shared/http/principal.js';
import { observedHttpHandler } from '../../shared/observability/observe.js';
import { issueDeviceCertificate } from '../../shared/store/device-certificates.js';
import { db, kms, rateLimiter } from './deps.js';

/**
 * POST /v1/device/certificates, apart from the device function: the X.509 library would not fit
 * the device bundle's budget, and only this function may Sign with the CA keys.
 */
export const handler = observedHttpHandler(
  createHttpHandler(
    [
      implement(contract.issueDeviceCertificate, async ({ principal, body }) => {
        const me = principal as Extract<Principal, { kind: 'programmer' }>;
        const { certificate, created } = await issueDeviceCertificate(db, kms, { accountId: me.accountId, programmerId: me.programmerId, ...body });
        return created ? certificate : new WithStatus(200, certificate);
      }),
    ],
    { rateLimiter },
  ),
);
