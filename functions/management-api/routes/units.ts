import * as contract from '../../../shared/contract/index.js';
import { implement } from '../../../shared/http/handler.js';
import * as units from '../../../shared/store/units.js';
import { db, objects, signer } from '../deps.js';

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
    const { manifest, ...built } = await units.buildManifest(db, principal.accountId, params.jobId);
    const signature = await signer.sign('flashline-manifest+jwt', {
      iss: 'flashline',
      acct: principal.accountId,
      job: built.jobId,
      units: built.units,
      sha256: built.sha256,
      iat: Math.floor(Date.now() / 1000),
    });
    // A large job's lines would outgrow a Lambda response (6 MB): they go to S3 and are fetched from there.
    if (Buffer.byteLength(manifest, 'utf8') <= units.MANIFEST_INLINE_BYTES) return { ...built, manifest, signature };
    const { url, expiresAt } = await objects.storeManifest(principal.accountId, built.jobId, built.sha256, manifest);
    return { ...built, manifestUrl: url, manifestUrlExpiresAt: expiresAt, signature };
  }),
];
