import * as z from 'zod';
import { MAX_LEASE_LIMIT_SECONDS, MIN_LEASE_SECONDS } from '../domain/authorizations.js';
import { Id, Name, Timestamp, trimmedText } from './common.js';
import { Delivery, Image, ImageStatus, Job, OnFailure, Sha256Hex, Step, StepKind, UidPolicy, UnitFields } from './entities.js';
import { defineRoute } from './route.js';

export { Delivery, Image, ImageStatus, OnFailure, Sha256Hex, Step, StepKind, UidPolicy };

export const EncryptionKeyId = trimmedText(128);

/** 5 GiB: the largest object one presigned S3 PUT can carry. */
export const MAX_IMAGE_BYTES = 5 * 1024 ** 3;

/**
 * The smallest failure rate above 0. DynamoDB stores no number closer to 0 than 1e-130 (a rate
 * of 2e-311 was a 500), and with at most a billion units counted any rate below 1e-9 already
 * means "the first failure": so 0, or 1e-9 up to 1. The gap is in the document as a `not`.
 */
export const MIN_FAILURE_RATE = 1e-9;

export const FailureRate = z
  .number()
  .min(0)
  .max(1)
  .refine((rate) => rate === 0 || rate >= MIN_FAILURE_RATE, { message: `must be 0, or from ${MIN_FAILURE_RATE} to 1` })
  .meta({ not: { exclusiveMinimum: 0, exclusiveMaximum: MIN_FAILURE_RATE }, description: `0, or from ${MIN_FAILURE_RATE} to 1` });

export const AutoPause = z
  .object({
    failureRate: FailureRate,
    minUnits: z.number().int().min(1).max(1_000_000_000),
  })
  .strict()
  .meta({
    id: 'AutoPause',
    description: 'Once at least `minUnits` results are in and failed / (succeeded + failed) ≥ `failureRate`, the write recording those results pauses the job (audit actor `guardrail`; events `job.yield_below_threshold` and `job.paused`).',
  });

export const Restrictions = z
  .object({
    maxCount: z.number().int().min(1).max(1_000_000_000).optional(),
    notBefore: Timestamp.optional(),
    notAfter: Timestamp.optional(),
    /** Longest lease a programmer may ask for, in seconds (default 600; up to a week for lines that work offline). */
    maxLeaseSeconds: z.number().int().min(MIN_LEASE_SECONDS).max(MAX_LEASE_LIMIT_SECONDS).optional(),
    /** The yield guardrail (v1.1): pause the job once `minUnits` results are in and failed / (succeeded + failed) ≥ `failureRate`; null removes it. */
    autoPause: AutoPause.nullable().optional(),
  })
  .strict()
  .refine((r) => !r.notBefore || !r.notAfter || Date.parse(r.notBefore) < Date.parse(r.notAfter), {
    message: 'notAfter must be later than notBefore',
    path: ['notAfter'],
  })
  // JSON Schema cannot compare two fields: the rule is stated for clients instead.
  .meta({ description: 'With both `notBefore` and `notAfter`, `notAfter` must be later (else 400 invalid_request naming restrictions.notAfter).' });

/** `{n}` is the serial number; `{n:08}` pads it with zeros to 8 digits. */
export const SerialFormat = z
  .string()
  .min(1)
  .max(64)
  .regex(/\{n(?::0?\d{1,2})?\}/, 'must contain {n} or {n:0W}');

export const SerialsInput = z
  .object({
    start: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    step: z.number().int().min(1).max(1_000_000).optional(),
    format: SerialFormat.optional(),
  })
  .strict();

export const RegisterImageBody = z
  .object({
    name: Name,
    description: z.string().max(2000).optional(),
    factoryId: Id,
    contentSha256: Sha256Hex,
    sizeBytes: z.number().int().min(1).max(MAX_IMAGE_BYTES),
    delivery: Delivery,
    encryptionKeyId: EncryptionKeyId.optional(),
    restrictions: Restrictions.optional(),
    serials: SerialsInput.optional(),
    steps: z.array(Step).max(100).optional(),
    /** Per-unit data (v1.1): fields filled from serial pools or MAC blocks of this account. */
    unitFields: UnitFields.optional(),
    onFailure: OnFailure.optional(),
    /** Chip UIDs (v1.1): default none. */
    uidPolicy: UidPolicy.optional(),
  })
  .strict()
  // `400 encryption_required` in the schema too: cloud delivery needs the image's encryption key id.
  .meta({ if: { properties: { delivery: { const: 'cloud' } }, required: ['delivery'] }, then: { required: ['encryptionKeyId'] } });
export type RegisterImageInput = z.infer<typeof RegisterImageBody>;

export const UploadInstructions = z
  .object({
    url: z.string().url(),
    method: z.literal('PUT'),
    /** Send exactly these headers with the PUT: they are part of the signature. */
    headers: z.record(z.string(), z.string()),
    expiresAt: Timestamp,
  })
  .meta({ id: 'UploadInstructions' });

const ImageParams = z.object({ imageId: Id });

export const registerImage = defineRoute({
  operationId: 'registerImage',
  method: 'POST',
  path: '/v1/images',
  summary: 'Register a generated image for a factory: creates its job and returns the KMS-signed binding (and an upload URL for cloud delivery)',
  access: { kind: 'account', minimumRole: 'author' },
  body: RegisterImageBody,
  successStatus: 201,
  response: z.object({ image: Image, job: Job, binding: z.string(), upload: UploadInstructions.optional() }),
  errors: ['encryption_required', 'data_list_not_ready'],
  idempotent: false,
});

export const getImage = defineRoute({
  operationId: 'getImage',
  method: 'GET',
  path: '/v1/images/{imageId}',
  summary: 'Read an image: metadata and status',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: ImageParams,
  successStatus: 200,
  response: z.object({ image: Image }),
  idempotent: true,
});

export const createUploadUrl = defineRoute({
  operationId: 'createUploadUrl',
  method: 'POST',
  path: '/v1/images/{imageId}/upload-url',
  summary: 'A fresh presigned PUT for a cloud-delivery image still pending upload',
  access: { kind: 'account', minimumRole: 'author' },
  params: ImageParams,
  successStatus: 200,
  response: z.object({ upload: UploadInstructions }),
  errors: ['image_not_pending'],
  idempotent: true,
});
