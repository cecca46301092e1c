import * as z from 'zod';
import { FeedQuery, Id, ListQuery, Timestamp, feedOf, listOf } from './common.js';
import { Job, JobStatus, type JobType, OnFailure, UidPolicy, UnitFields } from './entities.js';
import { GroupIds } from './groups.js';
import { Image, RegisterImageBody, Restrictions, UploadInstructions } from './images.js';
import { defineRoute } from './route.js';

export { Job, JobStatus, type JobType };

export const ResultRecord = z
  .object({
    authorizationId: Id,
    programmerId: Id,
    serial: z.string(),
    status: z.enum(['success', 'failure']),
    errorCode: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    at: Timestamp,
    reportedAt: Timestamp,
    run: z.number().int(),
  })
  .meta({ id: 'ProgrammingResult' });

export const LogLine = z
  .object({
    /** The device's own time for the line, as it sent it: shown, never used for ordering. */
    at: Timestamp.meta({ description: "The device's time for the line, as sent: shown, never used for ordering" }),
    level: z.enum(['debug', 'info', 'warn', 'error']),
    message: z.string(),
    programmerId: Id,
    authorizationId: Id.nullable(),
    receivedAt: Timestamp.meta({ description: 'When the cloud received the line; `since` compares against it' }),
    sequence: z.string().meta({ description: "The line's place in the job's arrival order: opaque, unique, strictly increasing" }),
  })
  .meta({ id: 'LogLine' });

const JobParams = z.object({ jobId: Id });

export const listJobs = defineRoute({
  operationId: 'listJobs',
  method: 'GET',
  path: '/v1/jobs',
  summary: 'List jobs, optionally of one factory and/or in one status (deleted jobs only when asked for)',
  description:
    'Pages are in job id order. With `status`, the filter is applied while the page is filled, so pages are full (`limit` items) ' +
    'except the last; a page may still come back short, even empty, with a non-null `nextCursor` when an account has thousands of jobs ' +
    'and few match (a page reads at most 1,000 jobs). Follow `nextCursor` until it is null, as the typed client and the CLI do.',
  access: { kind: 'account', minimumRole: 'viewer' },
  query: ListQuery.extend({ factoryId: Id.optional(), status: JobStatus.optional() }),
  successStatus: 200,
  response: listOf(Job),
  idempotent: true,
});

export const getJob = defineRoute({
  operationId: 'getJob',
  method: 'GET',
  path: '/v1/jobs/{jobId}',
  summary: 'Read a job with its live counters',
  description: 'A deleted job answers 404 here (and its results and logs too); `GET /v1/jobs?status=deleted` still lists it with its final counters.',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: JobParams,
  successStatus: 200,
  response: z.object({ job: Job }),
  idempotent: true,
});

export const UpdateJobBody = z
  .object({
    restrictions: Restrictions.optional(),
    unitFields: UnitFields.optional(),
    onFailure: OnFailure.optional(),
    uidPolicy: UidPolicy.optional(),
    /** The programmer groups of the job's factory it is for; null: every programmer of the factory. */
    targetGroupIds: GroupIds.min(1).nullable().optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'give restrictions, unitFields, onFailure, uidPolicy or targetGroupIds' })
  // The refinement in the schema too, so generated clients and fuzzers know `{}` is refused.
  .meta({ minProperties: 1 });
export type UpdateJobInput = z.infer<typeof UpdateJobBody>;

export const updateJob = defineRoute({
  operationId: 'updateJob',
  method: 'PATCH',
  path: '/v1/jobs/{jobId}',
  summary: 'Change a job: restrictions and target groups at any time; unit fields, onFailure and uidPolicy only before its first authorization',
  description:
    'Restrictions given replace the ones stored, field by field. A `maxCount` below the units already authorized is `409 invalid_transition`. ' +
    '`targetGroupIds`: groups of its factory (else 404); other programmers neither list it nor get it (`not_in_target_group`); null: all again. ' +
    '`unitFields`, `onFailure` and `uidPolicy` may change only while no unit was ever authorized (`409 job_started`). Sources of another account are 404.',
  access: { kind: 'account', minimumRole: 'author' },
  params: JobParams,
  body: UpdateJobBody,
  successStatus: 200,
  response: z.object({ job: Job }),
  errors: ['invalid_transition', 'job_started', 'data_list_not_ready'],
  idempotent: true,
});

const transition = (verb: 'pause' | 'resume' | 'restart', summary: string) =>
  defineRoute({
    operationId: `${verb}Job`,
    method: 'POST',
    path: `/v1/jobs/{jobId}/${verb}`,
    summary,
    // Operators steer the line: pausing, resuming and restarting need no say over images.
    access: { kind: 'account', minimumRole: 'operator' },
    params: JobParams,
    successStatus: 200,
    response: z.object({ job: Job }),
    errors: ['invalid_transition'],
    idempotent: false,
  });

export const pauseJob = transition('pause', 'Pause an active job: programmers stop seeing it and are refused with job_paused');
export const resumeJob = transition('resume', 'Resume a paused job');
export const restartJob = transition('restart', 'Start a new run: counters restart, history is kept, serial numbers continue');

export const deleteJob = defineRoute({
  operationId: 'deleteJob',
  method: 'DELETE',
  path: '/v1/jobs/{jobId}',
  summary: 'Delete a job and its cloud image',
  description:
    'Programmers are refused it with job_deleted at once. Afterwards the job, its results and its logs answer 404 at their URLs, as after any ' +
    'DELETE; the job stays listed under `GET /v1/jobs?status=deleted` with its final counters, and its results and log lines stay stored ' +
    'until their retention ends (they are not served).',
  access: { kind: 'account', minimumRole: 'author' },
  params: JobParams,
  successStatus: 200,
  response: z.object({ job: Job }),
  errors: ['invalid_transition'],
  idempotent: false,
});

export const listJobResults = defineRoute({
  operationId: 'listJobResults',
  method: 'GET',
  path: '/v1/jobs/{jobId}/results',
  summary: 'Programming results of a job in arrival order (`reportedAt`, the cloud\'s clock), at or after `since`; follow with `followCursor`',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: JobParams,
  query: FeedQuery,
  successStatus: 200,
  response: feedOf(ResultRecord),
  idempotent: true,
});

export const listJobLogs = defineRoute({
  operationId: 'listJobLogs',
  method: 'GET',
  path: '/v1/jobs/{jobId}/logs',
  summary: 'Log lines of a job in arrival order (`receivedAt`), at or after `since`; follow with `followCursor`',
  description:
    'Lines are ordered by when the cloud received them, not by the device time `at` they carry: a line that arrives late, with an old ' +
    '`at`, still comes after everything already read. Until v1.1 `since` compared the device time; it now compares `receivedAt`.',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: JobParams,
  query: FeedQuery,
  successStatus: 200,
  response: feedOf(LogLine),
  idempotent: true,
});

/** A replace brings a new image; what the job keeps (restrictions, serials, unit data, UID rule) is not part of it. */
export const ReplaceImageBody = RegisterImageBody.omit({ factoryId: true, restrictions: true, serials: true, unitFields: true, onFailure: true, uidPolicy: true })
  .strict()
  .meta({ if: { properties: { delivery: { const: 'cloud' } }, required: ['delivery'] }, then: { required: ['encryptionKeyId'] } });
export type ReplaceImageInput = z.infer<typeof ReplaceImageBody>;

export const replaceJobImage = defineRoute({
  operationId: 'replaceJobImage',
  method: 'POST',
  path: '/v1/jobs/{jobId}/replace',
  summary: 'Give a job a new image; it keeps its counters, serial position, unit data, restrictions and targets',
  description:
    'Body: `POST /v1/images` without `factoryId` and the job settings a replace keeps. A new binding; a cloud image gets an upload URL and the old ' +
    'object is deleted. The old binding is refused `409 image_replaced` with `details: { imageId, binding }` (the new ones), reserving nothing.',
  access: { kind: 'account', minimumRole: 'author' },
  params: JobParams,
  body: ReplaceImageBody,
  successStatus: 200,
  response: z.object({ image: Image, job: Job, binding: z.string(), upload: UploadInstructions.optional() }),
  errors: ['encryption_required', 'concurrent_change'],
  idempotent: false,
});
