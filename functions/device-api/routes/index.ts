// The device routes' contract only: the index would also build every management schema at cold start.
import * as contract from '../../../shared/contract/device.js';
import { ConflictError, NotFoundError } from '../../../shared/domain/errors.js';
import { targetRefusal } from '../../../shared/domain/authorizations.js';
import { downloadRefusal } from '../../../shared/domain/jobs.js';
import { type BoundRoute, WithStatus, implement } from '../../../shared/http/handler.js';
import { logger } from '../../../shared/http/logger.js';
import type { ProgrammerPrincipal } from '../../../shared/http/principal.js';
import { METRIC } from '../../../shared/observability/metric-names.js';
import { count, countAuthorization, countResults } from '../../../shared/observability/metrics.js';
import { JobMemory, authorizeUnits, getAuthorizationRecord, releaseAuthorizationOnce } from '../../../shared/store/authorizations.js';
import { loadDeviceContext, notePresence } from '../../../shared/store/device.js';
import { getImage } from '../../../shared/store/images.js';
import { listActiveFactoryJobs } from '../../../shared/store/jobs.js';
import { appendLogLines } from '../../../shared/store/logs.js';
import { reportResults } from '../../../shared/store/results.js';
import { dataKeys, db, imageUrls, signer, tickets } from '../../shared-deps.js';

/**
 * Tickets are signed by this container's certified session key; the binding key verifies
 * bindings programmers present; jobs this container reserved on are remembered, so their next
 * authorization reserves beside its reads.
 */
const ticketDeps = { db, tickets, bindings: signer, jobs: new JobMemory(), dataKeys };

/**
 * Every device call also marks the programmer as seen (at most one write a minute). Best
 * effort: a throttled or failed presence write must never fail the programmer's request.
 */
function seen(principal: ProgrammerPrincipal): Promise<void> {
  return notePresence(db, principal.accountId, principal.programmerId).catch((error: unknown) => {
    logger.warn('lastSeenAt not recorded', { error: error instanceof Error ? error.name : String(error) });
  });
}

export const deviceRoutes: BoundRoute[] = [
  implement(contract.listDeviceJobs, async ({ principal: me }) => {
    const [{ programmer }] = await Promise.all([loadDeviceContext(db, me.accountId, me.programmerId), seen(me)]);
    return { items: await listActiveFactoryJobs(db, me.accountId, programmer), nextCursor: null };
  }),

  implement(contract.createDownloadUrl, async ({ principal: me, params }) => {
    const [{ programmer, job }] = await Promise.all([loadDeviceContext(db, me.accountId, me.programmerId, params.jobId), seen(me)]);
    const refusal = downloadRefusal(job!, new Date()) ?? targetRefusal(programmer, job!);
    if (refusal) throw refusal;
    const image = await getImage(db, me.accountId, job!.imageId, true);
    if (image.delivery !== 'cloud') {
      throw new ConflictError('image_not_available', 'This image is delivered directly to programmers, not through the cloud');
    }
    if (image.status !== 'available') {
      throw new ConflictError('image_not_available', `The image is ${image.status}, not available for download`, { status: image.status });
    }
    if (!image.encryptionKeyId || !programmer.encryptionKeyIds.includes(image.encryptionKeyId)) {
      throw new ConflictError('missing_encryption_key', `This programmer does not hold the image's encryption key ${image.encryptionKeyId}`, {
        encryptionKeyId: image.encryptionKeyId,
      });
    }
    const download = await imageUrls.presignDownload(me.accountId, image.imageId);
    return { url: download.url, expiresAt: download.expiresAt, sha256: image.contentSha256, sizeBytes: image.sizeBytes };
  }),

  implement(contract.authorizeProgramming, async ({ principal: me, body }) => {
    const [{ authorization, created }] = await Promise.all([
      authorizeUnits(ticketDeps, { accountId: me.accountId, programmerId: me.programmerId, ...body }),
      seen(me),
    ]);
    // A retried nonce gets the stored authorization back with 200, never new units.
    if (!created) return new WithStatus(200, authorization);
    countAuthorization(authorization.units);
    return authorization;
  }),

  implement(contract.reportResults, async ({ principal: me, body }) => {
    // A programmer disabled or deprovisioned since it was authorized reports nothing more.
    const [{ recorded, duplicates, failed }] = await Promise.all([reportResults(db, me.accountId, me.programmerId, body.authorizationId, body.results), seen(me)]);
    countResults(recorded, failed);
    return { recorded, duplicates };
  }),

  implement(contract.releaseAuthorization, async ({ principal: me, params }) => {
    // A disabled programmer is no longer trusted to say which units it did not program, so it
    // gives nothing back. Checked before the release, never beside it: a release cannot be undone.
    await Promise.all([loadDeviceContext(db, me.accountId, me.programmerId), seen(me)]);
    const { release, first } = await releaseAuthorizationOnce(db, me.accountId, me.programmerId, params.authorizationId);
    // A repeated release returns the same body: only the first gives units back.
    if (first) count(METRIC.unitsReturned, release.returned);
    return release;
  }),

  implement(contract.appendLogs, async ({ principal: me, body }) => {
    await Promise.all([loadDeviceContext(db, me.accountId, me.programmerId, body.jobId), seen(me)]);
    if (body.authorizationId !== undefined) {
      // A line may only name an authorization of this programmer on this job: logs are evidence.
      const authorization = await getAuthorizationRecord(db, me.accountId, me.programmerId, body.authorizationId).catch(() => undefined);
      if (!authorization || authorization.jobId !== body.jobId) {
        // Another programmer's is another's object (never reveal it); one of another job does not exist in this one.
        throw new NotFoundError('Authorization', `Authorization ${body.authorizationId} is not one of this programmer on job ${body.jobId}`);
      }
    }
    const accepted = await appendLogLines(db, me.accountId, body.jobId, { programmerId: me.programmerId, authorizationId: body.authorizationId }, body.lines);
    return { accepted };
  }),
];
