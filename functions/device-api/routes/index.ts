// The device routes' contract only: the index would also build every management schema at cold start.
import * as contract from '../../../shared/contract/device.js';
import { ConflictError, NotFoundError } from '../../../shared/domain/errors.js';
import { targetRefusal } from '../../../shared/domain/authorizations.js';
import { downloadRefusal } from '../../../shared/domain/jobs.js';
import { type BoundRoute, implement } from '../../../shared/http/handler.js';
import type { ProgrammerPrincipal } from '../../../shared/http/principal.js';
import { METRIC } from '../../../shared/observability/metric-names.js';
import { count, countResults } from '../../../shared/observability/metrics.js';
import { getAuthorizationRecord, releaseAuthorizationOnce } from '../../../shared/store/authorizations.js';
import { loadDeviceContext } from '../../../shared/store/device.js';
import { getImage } from '../../../shared/store/images.js';
import { listActiveFactoryJobs } from '../../../shared/store/jobs.js';
import { appendLogLines } from '../../../shared/store/logs.js';
import { reportResults } from '../../../shared/store/results.js';
import { markSeen } from '../../device-presence.js';
import { db, imageUrls } from '../deps.js';

const seen = (principal: ProgrammerPrincipal) => markSeen(db, principal);

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
