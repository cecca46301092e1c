import * as z from 'zod';
import { Id, ListQuery, Timestamp, listOf } from './common.js';
import { defineRoute } from './route.js';

export const JobStatus = z.enum(['active', 'paused', 'completed', 'expired', 'deleted']);

export const Job = z
  .object({
    jobId: Id,
    imageId: Id,
    factoryId: Id,
    name: z.string(),
    status: JobStatus,
    restrictions: z.object({
      maxCount: z.number().int().nullable(),
      notBefore: Timestamp.nullable(),
      notAfter: Timestamp.nullable(),
      /** The longest lease (`validSeconds`) a programmer may ask for (v1.1). */
      maxLeaseSeconds: z.number().int(),
    }),
    serials: z.object({ start: z.number().int(), step: z.number().int(), format: z.string(), next: z.string() }),
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
    at: Timestamp,
    level: z.enum(['debug', 'info', 'warn', 'error']),
    message: z.string(),
    programmerId: Id,
    authorizationId: Id.nullable(),
  })
  .meta({ id: 'LogLine' });

const JobParams = z.object({ jobId: Id });
const SinceQuery = ListQuery.extend({ since: Timestamp.optional() });

export const listJobs = defineRoute({
  operationId: 'listJobs',
  method: 'GET',
  path: '/v1/jobs',
  summary: 'List jobs, optionally of one factory and/or in one status (deleted jobs only when asked for)',
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
  access: { kind: 'account', minimumRole: 'viewer' },
  params: JobParams,
  successStatus: 200,
  response: z.object({ job: Job }),
  idempotent: true,
});

const transition = (verb: 'pause' | 'resume' | 'restart', summary: string) =>
  defineRoute({
    operationId: `${verb}Job`,
    method: 'POST',
    path: `/v1/jobs/{jobId}/${verb}`,
    summary,
    access: { kind: 'account', minimumRole: 'author' },
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
  summary: 'Delete a job and its cloud image; history is kept',
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
  summary: 'Programming results of a job, oldest first, reported at or after `since`',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: JobParams,
  query: SinceQuery,
  successStatus: 200,
  response: listOf(ResultRecord),
  idempotent: true,
});

export const listJobLogs = defineRoute({
  operationId: 'listJobLogs',
  method: 'GET',
  path: '/v1/jobs/{jobId}/logs',
  summary: 'Log lines of a job, oldest first, at or after `since`',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: JobParams,
  query: SinceQuery,
  successStatus: 200,
  response: listOf(LogLine),
  idempotent: true,
});
