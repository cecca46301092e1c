import * as z from 'zod';
import { MAX_LEASE_LIMIT_SECONDS, MIN_LEASE_SECONDS } from '../domain/authorizations.js';
import { Id, Timestamp } from './common.js';
import { defineRoute } from './route.js';

/**
 * `POST /v1/device/authorizations`, apart from the other device routes (device.ts re-exports it):
 * its function (functions/device-authorizations) imports this module alone, and builds no
 * schema it does not use at cold start.
 */

export const Authorization = z
  .object({
    authorizationId: Id,
    jobId: Id,
    units: z.number().int(),
    serials: z.array(z.string()),
    unitData: z
      .array(z.object({ serial: z.string(), fields: z.record(z.string(), z.union([z.string(), z.array(z.string())])) }))
      .meta({
        description:
          "Per-unit data (v1.1), in the order of `serials`: each unit's value of each of the job's unit fields (a serial pool's value as a string, a MAC field's `perUnit` addresses as an array). " +
          'The ticket payload carries `ud` = base64url SHA-256 of the canonical JSON of this array (object keys sorted, no spaces), so the signature covers it.',
      }),
    uids: z.array(z.string()).optional().meta({ description: 'Chip UIDs (a UID job), in serial order; the ticket binds them' }),
    expiresAt: Timestamp,
    ticket: z.string().meta({
      description:
        'Compact JWS (ES256, typ flashline-ticket+jwt) of the ticket payload. Signed by the device function\'s in-memory session key: ' +
        'its protected header carries `kid` (the session key) and `crt`, a JWS (typ flashline-key+jwt) by a root key of ' +
        'GET /v1/signing-keys certifying that key: `{iss, sub: session kid, jwk, iat, exp}`, exp − iat ≤ 86400. Verify `crt` with ' +
        'the JWKS key its kid names, check crt.sub = the ticket\'s kid and crt.iat ≤ ticket iat ≤ crt.exp, then verify the ticket ' +
        'with crt.jwk. A ticket without `crt` verifies against the JWKS directly.',
    }),
  })
  .meta({ id: 'Authorization' });

export const MAX_UNITS_PER_AUTHORIZATION = 1000;
/** A chip UID: 1–64 bytes of hex, any case (stored upper case). */
export const Uid = z.string().regex(/^(?:[0-9A-Fa-f]{2}){1,64}$/);

export const authorizeProgramming = defineRoute({
  operationId: 'authorizeProgramming',
  method: 'POST',
  path: '/v1/device/authorizations',
  summary: 'Ask permission to program units: reserves them under the job limit and allocates serial numbers; idempotent by (programmer, nonce)',
  access: { kind: 'programmer' },
  body: z
    .object({
      jobId: Id,
      units: z.number().int().min(1).max(MAX_UNITS_PER_AUTHORIZATION),
      nonce: z.string().min(8).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'must be 8–128 characters of A-Z a-z 0-9 . _ : -'),
      binding: z.string().max(4096).optional(),
      /** Lease length in seconds (v1.1): 60 up to the job's `restrictions.maxLeaseSeconds`; default 600. `expiresAt` never passes the job's `notAfter`. */
      validSeconds: z.number().int().min(MIN_LEASE_SECONDS).max(MAX_LEASE_LIMIT_SECONDS).optional(),
      uids: z
        .array(Uid)
        .max(MAX_UNITS_PER_AUTHORIZATION)
        .optional()
        .meta({ description: 'One distinct chip UID per unit, for a job with a uidPolicy; unit i gets serials[i]' }),
    })
    .strict(),
  successStatus: 201,
  replayStatus: { status: 200, description: 'A retry of a nonce this programmer already used: the stored authorization, whatever the job\'s state by now' },
  response: Authorization,
  errors: [
    'job_paused',
    'job_deleted',
    'job_completed',
    'job_not_started',
    'job_expired',
    'programmer_disabled',
    'wrong_factory',
    'binding_mismatch',
    'not_in_target_group',
    'image_replaced',
    'nonce_reused',
    'serials_exhausted',
    'macs_exhausted',
    'data_list_exhausted',
    'lease_too_long',
    'uid_already_programmed',
    'uid_in_progress',
    'invalid_uids',
  ],
  idempotent: true,
});
