import * as contract from '../../../shared/contract/index.js';
import { NotFoundError } from '../../../shared/domain/errors.js';
import type { JobAction } from '../../../shared/domain/jobs.js';
import { type RouteRequest, implement } from '../../../shared/http/handler.js';
import { actorOf } from '../../../shared/http/principal.js';
import { replaceJobImage } from '../../../shared/store/images.js';
import * as jobs from '../../../shared/store/jobs.js';
import { listLogLines } from '../../../shared/store/logs.js';
import { listResults } from '../../../shared/store/results.js';
import { db, objects, signer } from '../deps.js';

function transition(action: JobAction) {
  return async ({ principal, params }: RouteRequest<typeof contract.pauseJob> | RouteRequest<typeof contract.deleteJob>) => {
    const { job, record } = await jobs.transitionJob(db, principal.accountId, params.jobId, action, actorOf(principal));
    // The job is gone for programmers once the transaction committed; the object follows it.
    if (action === 'delete' && record.delivery === 'cloud') await objects.delete(principal.accountId, record.imageId);
    return { job };
  };
}

/**
 * A job as its own URL serves it. After `DELETE /v1/jobs/{jobId}` the job, its results and its
 * logs answer 404, as HTTP (and every generic client) reads a successful DELETE; the record
 * stays listed under `GET /v1/jobs?status=deleted` with its final counters.
 */
async function servedJob(accountId: string, jobId: string, consistent: boolean) {
  const record = await jobs.getJobRecord(db, accountId, jobId, consistent);
  if (record.status === 'deleted') throw new NotFoundError('Job', `Job ${jobId} was deleted; it is listed with ?status=deleted`);
  return record;
}

export const jobRoutes = [
  implement(contract.listJobs, async ({ principal, query }) => jobs.listJobs(db, principal.accountId, query, principal)),
  implement(contract.getJob, async ({ principal, params }) => ({ job: jobs.toJobView(await servedJob(principal.accountId, params.jobId, true)) })),
  implement(contract.updateJob, async ({ principal, params, body }) => ({ job: await jobs.updateJob(db, principal.accountId, params.jobId, body, actorOf(principal)) })),
  implement(contract.pauseJob, transition('pause')),
  implement(contract.resumeJob, transition('resume')),
  implement(contract.restartJob, transition('restart')),
  implement(contract.deleteJob, transition('delete')),
  implement(contract.replaceJobImage, async ({ principal, params, body }) => {
    const { previous, ...replaced } = await replaceJobImage({ db, signer, objects }, principal.accountId, params.jobId, body, actorOf(principal));
    // Committed: no programmer can be granted the old image again, so its object goes.
    if (previous.delivery === 'cloud') await objects.delete(principal.accountId, previous.imageId);
    return replaced;
  }),
  implement(contract.listJobResults, async ({ principal, params, query }) => {
    await servedJob(principal.accountId, params.jobId, false);
    return listResults(db, principal.accountId, params.jobId, query);
  }),
  implement(contract.listJobLogs, async ({ principal, params, query }) => {
    await servedJob(principal.accountId, params.jobId, false);
    return listLogLines(db, principal.accountId, params.jobId, query);
  }),
];
