import * as z from 'zod';
import { MAX_LEASE_LIMIT_SECONDS, MIN_LEASE_SECONDS } from '../domain/authorizations.js';
import { Id, Timestamp } from './common.js';
import { Delivery, Image, Job, Sha256Hex } from './entities.js';
import { defineRoute } from './route.js';

export const DeviceJob = Job.extend({ image: Image, delivery: Delivery }).meta({ id: 'DeviceJob' });

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
export const MAX_RESULTS_PER_REQUEST = 500;
export const MAX_LOG_LINES_PER_REQUEST = 1000;
export const MAX_LOG_BYTES_PER_REQUEST = 256 * 1024;

const JobParams = z.object({ jobId: Id });

export const listDeviceJobs = defineRoute({
  operationId: 'listDeviceJobs',
  method: 'GET',
  path: '/v1/device/jobs',
  summary: "The active jobs of this programmer's factory, each with its image metadata and delivery",
  access: { kind: 'programmer' },
  successStatus: 200,
  response: z.object({ items: z.array(DeviceJob), nextCursor: z.null() }),
  errors: ['programmer_disabled'],
  idempotent: true,
});

export const createDownloadUrl = defineRoute({
  operationId: 'createDownloadUrl',
  method: 'POST',
  path: '/v1/device/jobs/{jobId}/download-url',
  summary: 'A presigned GET (valid minutes) of the encrypted image of a cloud-delivery job',
  access: { kind: 'programmer' },
  params: JobParams,
  successStatus: 200,
  response: z.object({ url: z.string().url(), expiresAt: Timestamp, sha256: Sha256Hex, sizeBytes: z.number().int() }),
  errors: ['image_not_available', 'missing_encryption_key', 'job_paused', 'job_deleted', 'job_completed', 'job_expired', 'wrong_factory', 'not_in_target_group', 'programmer_disabled'],
  idempotent: true,
});

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
    'lease_too_long',
    'uid_already_programmed',
    'uid_in_progress',
    'invalid_uids',
  ],
  idempotent: true,
});

export const Release = z
  .object({
    authorizationId: Id,
    units: z.number().int(),
    /** Units of the authorization with a reported result: they stay counted. */
    reported: z.number().int(),
    /** Units given back to the job: `authorized` fell by this many. */
    returned: z.number().int(),
  })
  .meta({ id: 'Release' });

export const releaseAuthorization = defineRoute({
  operationId: 'releaseAuthorization',
  method: 'POST',
  path: '/v1/device/authorizations/{authorizationId}/release',
  summary: 'End an authorization: its units without a reported result go back to the job (v1.1); idempotent, a repeat returns the same body',
  access: { kind: 'programmer' },
  params: z.object({ authorizationId: Id }),
  successStatus: 200,
  response: Release,
  errors: ['programmer_disabled'],
  idempotent: true,
});

export const reportResults = defineRoute({
  operationId: 'reportResults',
  method: 'POST',
  path: '/v1/device/results',
  summary: 'Report programmed units; idempotent by (authorizationId, serial)',
  access: { kind: 'programmer' },
  body: z
    .object({
      authorizationId: Id,
      results: z
        .array(
          z
            .object({
              serial: z
                .string()
                .min(1)
                .max(128)
                .meta({ description: 'One of the serials the authorization granted; any other is 400 invalid_request and nothing of the request is recorded' }),
              status: z.enum(['success', 'failure']),
              errorCode: z.string().max(128).optional(),
              durationMs: z.number().int().min(0).max(86_400_000).optional(),
              at: Timestamp.optional(),
              uid: Uid.optional().meta({ description: 'A UID job: the UID granted with the serial' }),
            })
            .strict(),
        )
        .min(1)
        .max(MAX_RESULTS_PER_REQUEST),
    })
    .strict(),
  maxBodyBytes: 256 * 1024,
  maxBatch: { field: 'results', max: MAX_RESULTS_PER_REQUEST },
  successStatus: 200,
  errors: ['authorization_released', 'programmer_disabled', 'uid_already_programmed', 'uid_in_progress', 'uid_mismatch'],
  response: z.object({
    /** Results recorded by this request. */
    recorded: z.number().int(),
    /** Results already recorded by an earlier attempt: not counted again. */
    duplicates: z.number().int(),
  }),
  idempotent: true,
});

export const appendLogs = defineRoute({
  operationId: 'appendLogs',
  method: 'POST',
  path: '/v1/device/logs',
  summary: 'Append log lines to a job (identical retried lines are stored once)',
  access: { kind: 'programmer' },
  body: z
    .object({
      jobId: Id,
      authorizationId: Id.optional(),
      lines: z
        .array(z.object({ at: Timestamp, level: z.enum(['debug', 'info', 'warn', 'error']), message: z.string().max(8192) }).strict())
        .min(1)
        .max(MAX_LOG_LINES_PER_REQUEST),
    })
    .strict(),
  maxBodyBytes: MAX_LOG_BYTES_PER_REQUEST,
  maxBatch: { field: 'lines', max: MAX_LOG_LINES_PER_REQUEST },
  successStatus: 200,
  response: z.object({ accepted: z.number().int() }),
  errors: ['job_deleted', 'wrong_factory'],
  idempotent: true,
});
