import * as z from 'zod';
import { Id, Timestamp } from './common.js';
import { Delivery, Image, Job, Sha256Hex } from './entities.js';
import { Uid } from './authorizations.js';
import { defineRoute } from './route.js';

// Creating authorizations has a module of its own, so that its function builds only its schemas
// (not the job and image entities of the other device routes); it is part of the device routes.
export * from './authorizations.js';

export const DeviceJob = Job.extend({ image: Image, delivery: Delivery }).meta({ id: 'DeviceJob' });

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
