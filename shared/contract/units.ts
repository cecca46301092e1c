import * as z from 'zod';
import { Id, Timestamp } from './common.js';
import { Uid } from './device.js';
import { defineRoute } from './route.js';

/** Traceability (api.md "Per-unit data"): where a value went, and the signed record of a job's units. */
export const UnitStory = z
  .object({
    accountId: Id,
    jobId: Id,
    imageId: Id.nullable(),
    factoryId: Id.nullable(),
    programmerId: Id,
    authorizationId: Id,
    serial: z.string().meta({ description: "The unit's serial in its job (the ticket's `serials`)" }),
    match: z.object({ field: z.string(), sourceId: Id, value: z.string() }).meta({ description: 'The unit field, source and value the lookup matched' }),
    authorizedAt: Timestamp.nullable(),
    state: z.string().meta({ description: 'The authorization: granted or released' }),
    result: z
      .object({ status: z.enum(['success', 'failure']), errorCode: z.string().nullable(), at: Timestamp, reportedAt: Timestamp })
      .nullable()
      .meta({ description: 'null: no result reported (yet)' }),
    fields: z.array(z.string()).meta({ description: "The names in the unit's unitData fields; never a value" }),
  })
  .meta({ id: 'UnitStory' });

export const UnitsQuery = z
  .object({
    serial: z.string().min(1).max(64).optional().meta({ description: 'A value of a serial pool field' }),
    mac: z.string().min(12).max(17).optional().meta({ description: 'An EUI-48 address of a MAC block field (colons, dashes or none)' }),
    uid: Uid.optional().meta({ description: 'A chip UID (hex, any case) of a job with a uidPolicy' }),
  })
  .strict()
  .refine((query) => [query.serial, query.mac, query.uid].filter((given) => given !== undefined).length === 1, { message: 'give exactly one of serial, mac or uid' });

export const lookupUnits = defineRoute({
  operationId: 'lookupUnits',
  method: 'GET',
  path: '/v1/units',
  summary: "Where a serial pool value, MAC address or chip UID went: each unit's story (job, image, programmer, authorization, result, time, field names)",
  description:
    'More than one item when a value was handed out again after a failure (onFailure return), oldest first. A value that was drawn and burned (its request never ' +
    'granted it) or never issued answers an empty list. A chip UID (`uid`) is found while its job (uidPolicy) holds it claimed or programmed; ' +
    'its story has `match.field` `uid` and `match.sourceId` the scope it is unique in (the job, or the account).',
  access: { kind: 'account', minimumRole: 'viewer' },
  query: UnitsQuery,
  successStatus: 200,
  response: z.object({ items: z.array(UnitStory) }),
  idempotent: true,
});

export const JobManifest = z
  .object({
    jobId: Id,
    units: z.number().int(),
    manifest: z
      .string()
      .optional()
      .meta({
        description:
          'JSON lines, one a unit with a reported result, in arrival order: serial, status, errorCode, at, reportedAt, jobId, imageId, programmerId, authorizationId, ' +
          'fields (unit data without secret columns), withheld (the secret column names). Inline up to 1 MiB; a larger manifest is only at `manifestUrl`.',
      }),
    manifestUrl: z.string().url().optional().meta({ description: 'A manifest over 1 MiB: a presigned GET (15 minutes) of exactly those lines, instead of `manifest`' }),
    manifestUrlExpiresAt: Timestamp.optional().meta({ description: 'When `manifestUrl` stops working: ask again for a fresh one' }),
    sha256: z.string().meta({ description: 'Lowercase hex SHA-256 of the manifest lines (their UTF-8 bytes), inline or at `manifestUrl`' }),
    signature: z.string().meta({
      description:
        'Compact JWS (ES256, typ flashline-manifest+jwt) by the binding root key of GET /v1/signing-keys over `{ iss, acct, job, units, sha256, iat }`: ' +
        'verify it with the JWKS, then check its sha256 against the SHA-256 of `manifest`.',
    }),
  })
  .meta({ id: 'JobManifest' });

export const getJobManifest = defineRoute({
  operationId: 'getJobManifest',
  method: 'GET',
  path: '/v1/jobs/{jobId}/manifest',
  summary: 'Every programmed unit of a job as JSON lines, with a detached signature over its SHA-256 by the root key',
  access: { kind: 'account', minimumRole: 'author' },
  params: z.object({ jobId: Id }),
  successStatus: 200,
  response: JobManifest,
  idempotent: true,
});
