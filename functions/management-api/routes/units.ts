import * as contract from '../../../shared/contract/index.js';
import { implement } from '../../../shared/http/handler.js';
import * as units from '../../../shared/store/units.js';
import { db, signer } from '../deps.js';

/** Traceability: where a value went, and the signed manifest of a job's units (signed by the binding root key, verifiable with the JWKS). */
export const unitRoutes = [
  implement(contract.lookupUnits, async ({ principal, query }) => ({
    items:
      query.serial !== undefined
        ? await units.unitsBySerial(db, principal.accountId, query.serial, principal)
        : query.mac !== undefined
          ? await units.unitsByMac(db, principal.accountId, query.mac, principal)
          : await units.unitsByUid(db, principal.accountId, query.uid as string, principal),
  })),
  implement(contract.getJobManifest, async ({ principal, params }) => {
    const manifest = await units.buildManifest(db, principal.accountId, params.jobId);
    const signature = await signer.sign('flashline-manifest+jwt', {
      iss: 'flashline',
      acct: principal.accountId,
      job: manifest.jobId,
      units: manifest.units,
      sha256: manifest.sha256,
      iat: Math.floor(Date.now() / 1000),
    });
    return { ...manifest, signature };
  }),
];
