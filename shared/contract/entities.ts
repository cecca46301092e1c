import * as z from 'zod';
import { Id, Timestamp, distinctBy } from './common.js';

/**
 * The job and image schemas that both the management routes and the device routes answer
 * with. They live apart from the management routes (jobs.ts, images.ts re-export them) so the
 * device function, which imports only device.ts, does not build every management schema at
 * cold start: zod builds each schema when its module loads, and those were a fifth of the
 * device function's module init.
 */
/**
 * Where a unit field's values come from (api.md "Per-unit data"): a serial pool, a MAC block
 * giving `perUnit` consecutive addresses, or a data list giving one row (its columns appear in
 * `unitData` as `{field}.{column}`).
 */
export const UnitFieldSource = z.union([
  z.object({ serialPool: Id }).strict(),
  z.object({ macBlock: Id, perUnit: z.number().int().min(1).max(16) }).strict(),
  // A device certificate per unit from this CA of the account (POST /v1/device/certificates); the unit's value names the CA.
  z.object({ certificateAuthority: Id }).strict(),
  z.object({ dataList: Id }).strict(),
]);
export const UnitField = z
  .object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must start with a letter and hold up to 64 letters, digits, _ or -'),
    source: UnitFieldSource,
  })
  .strict()
  .meta({ id: 'UnitField' });
export const MAX_UNIT_FIELDS = 8;
export const UnitFields = distinctBy(z.array(UnitField).max(MAX_UNIT_FIELDS), 'name', 'field names must be unique');
/** `consume`: a failed unit's values are spent; `return`: they go back to their sources and are handed out again, once. */
export const OnFailure = z.enum(['consume', 'return']);
/** Chip UIDs: `unique_per_job` / `unique_per_account`: an authorization names one chip UID per unit, and a chip is programmed successfully at most once in that scope. */
export const UidPolicy = z.enum(['none', 'unique_per_job', 'unique_per_account']);

export const JobStatus = z.enum(['active', 'paused', 'completed', 'expired', 'deleted']);

export const Job = z
  .object({
    jobId: Id,
    imageId: Id,
    factoryId: Id,
    name: z.string(),
    status: JobStatus,
    /** Counts up from 1 with every `POST /v1/jobs/{jobId}/replace`: the image programmers must hold. */
    imageVersion: z.number().int(),
    /** The programmer groups the job is for; null: every programmer of its factory. */
    targetGroupIds: z.array(Id).nullable(),
    restrictions: z.object({
      maxCount: z.number().int().nullable(),
      notBefore: Timestamp.nullable(),
      notAfter: Timestamp.nullable(),
      /** The longest lease (`validSeconds`) a programmer may ask for (v1.1). */
      maxLeaseSeconds: z.number().int(),
      /** The yield guardrail (v1.1), null when none. */
      autoPause: z.object({ failureRate: z.number(), minUnits: z.number().int() }).nullable(),
    }),
    serials: z.object({ start: z.number().int(), step: z.number().int(), format: z.string(), next: z.string() }),
    /** Per-unit data (v1.1): every authorization carries `unitData` with a value of each field per unit. */
    unitFields: z.array(UnitField),
    onFailure: OnFailure,
    uidPolicy: UidPolicy,
    /** Starts at 1; a restart begins a new run (counters restart, serials continue). */
    run: z.number().int(),
    counters: z.object({
      authorized: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
      /** Units given back by releases in this run (v1.1); `authorized` no longer counts them. */
      returned: z.number().int(),
      remaining: z.number().int().nullable(),
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Job' });
export type JobType = z.infer<typeof Job>;

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters (SHA-256)');
export const Delivery = z.enum(['direct', 'cloud']);
export const StepKind = z.enum(['erase', 'program', 'verify', 'set_config', 'algorithm', 'custom']);
export const Step = z.object({ kind: StepKind, description: z.string().max(500).optional() }).strict();

export const ImageStatus = z.enum(['pending_upload', 'available', 'rejected', 'registered']);

export const Image = z
  .object({
    imageId: Id,
    jobId: Id,
    factoryId: Id,
    name: z.string(),
    description: z.string().nullable(),
    contentSha256: Sha256Hex,
    sizeBytes: z.number().int(),
    delivery: Delivery,
    encryptionKeyId: z.string().nullable(),
    steps: z.array(Step),
    status: ImageStatus,
    /** Why the verifier rejected the upload (size or checksum mismatch). */
    rejectionReason: z.string().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Image' });
