import * as contract from '../../../shared/contract/index.js';
import { implement } from '../../../shared/http/handler.js';
import { actorOf } from '../../../shared/http/principal.js';
import * as authorities from '../../../shared/store/certificate-authorities.js';
import { caKeys, db } from '../deps.js';

/** Certificate authorities (device certificates are issued by their own function: functions/device-certificates). */
export const certificateRoutes = [
  implement(contract.createCertificateAuthority, async ({ principal, body }) => ({
    certificateAuthority: await authorities.createCertificateAuthority(db, caKeys, principal.accountId, body, actorOf(principal)),
  })),
  implement(contract.listCertificateAuthorities, async ({ principal, query }) => authorities.listCertificateAuthorities(db, principal.accountId, query)),
  implement(contract.getCertificateAuthority, async ({ principal, params }) => ({
    certificateAuthority: await authorities.getCertificateAuthority(db, principal.accountId, params.certificateAuthorityId),
  })),
];
