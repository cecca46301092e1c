import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RegisterImageInput } from '../contract/images.js';
import type { ReplaceImageInput } from '../contract/jobs.js';
import { BadRequestError, ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { DEFAULT_SERIAL_FORMAT, serialSettingsProblems } from '../domain/jobs.js';
import { auditItem } from './audit.js';
import { factoryCounterUpdate } from './factories.js';
import { type Db, cancelledConditions, isConditionFailure, nowIso } from './db.js';
import type { ImageObjects, PresignedRequest } from './image-objects.js';
import { type JobView, getJobRecord, toJobRecord, toJobView } from './jobs.js';
import { keys } from './keys.js';
import { resolveUnitFields } from './unit-fields.js';
import type { KmsJwsSigner } from './signer.js';

export type ImageStatus = 'pending_upload' | 'available' | 'rejected' | 'registered';

export interface ImageView {
  imageId: string;
  jobId: string;
  factoryId: string;
  name: string;
  description: string | null;
  contentSha256: string;
  sizeBytes: number;
  delivery: 'direct' | 'cloud';
  encryptionKeyId: string | null;
  steps: { kind: 'erase' | 'program' | 'verify' | 'set_config' | 'algorithm' | 'custom'; description?: string }[];
  status: ImageStatus;
  rejectionReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export function toImageView(item: Record<string, unknown>): ImageView {
  return {
    imageId: item.imageId as string,
    jobId: item.jobId as string,
    factoryId: item.factoryId as string,
    name: item.name as string,
    description: (item.description as string | undefined) ?? null,
    contentSha256: item.contentSha256 as string,
    sizeBytes: Number(item.sizeBytes),
    delivery: item.delivery as ImageView['delivery'],
    encryptionKeyId: (item.encryptionKeyId as string | undefined) ?? null,
    steps: (item.steps as ImageView['steps'] | undefined) ?? [],
    status: item.status as ImageStatus,
    rejectionReason: (item.rejectionReason as string | undefined) ?? null,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}

/** The statement a binding signs: it ties one image generation to one account and one factory. */
export interface BindingClaims {
  iss: 'flashline';
  acct: string;
  fac: string;
  img: string;
  job: string;
  sha256: string;
  iat: number;
}

export interface RegisteredImage {
  image: ImageView;
  job: JobView;
  binding: string;
  upload?: PresignedRequest & { method: 'PUT' };
}

/**
 * Registers one generated image and creates its job, in one transaction with the factory's job
 * counter and the audit record. The binding is signed first: its ids are chosen here, so an
 * image never exists without the binding that names it.
 */
export async function registerImage(
  deps: { db: Db; signer: KmsJwsSigner; objects: ImageObjects },
  accountId: string,
  input: RegisterImageInput,
  actor: string,
): Promise<RegisteredImage> {
  requireEncryptionForCloud(input);
  const serialRule = { start: input.serials?.start ?? 1, step: input.serials?.step ?? 1, format: input.serials?.format ?? DEFAULT_SERIAL_FORMAT };
  const serialProblems = serialSettingsProblems(serialRule, input.restrictions?.maxCount ?? null);
  if (serialProblems.length > 0) throw new ValidationError(serialProblems);
  const { db, signer, objects } = deps;
  const unitFields = await resolveUnitFields(db, accountId, input.unitFields ?? []);
  const now = new Date();
  const at = now.toISOString();
  const imageId = newId('img');
  const jobId = newId('job');
  const binding = await signer.sign('flashline-binding+jwt', { ...bindingClaims(accountId, { factoryId: input.factoryId, imageId, jobId }, input.contentSha256, now) });

  const imageItem = newImageItem(accountId, { imageId, jobId, factoryId: input.factoryId, binding, at }, input);
  const jobItem = {
    ...keys.job(accountId, jobId),
    gsi2pk: keys.factoryIndex(accountId, input.factoryId),
    gsi2sk: keys.jobIndexSk(jobId),
    type: 'job',
    jobId,
    imageId,
    factoryId: input.factoryId,
    name: input.name,
    status: 'active',
    maxCount: input.restrictions?.maxCount,
    notBefore: input.restrictions?.notBefore,
    notAfter: input.restrictions?.notAfter,
    maxLeaseSeconds: input.restrictions?.maxLeaseSeconds,
    autoPauseFailureRate: input.restrictions?.autoPause?.failureRate,
    autoPauseMinUnits: input.restrictions?.autoPause?.minUnits,
    serialStart: serialRule.start,
    serialStep: serialRule.step,
    serialFormat: serialRule.format,
    run: 1,
    authorized: 0,
    succeeded: 0,
    failed: 0,
    nextSerialIndex: 0,
    // Only when given: a job without per-unit data keeps the item (and the authorization's cost) it always had.
    ...(unitFields.length > 0 && { unitFields }),
    ...(input.onFailure && { onFailure: input.onFailure }),
    ...(input.uidPolicy && input.uidPolicy !== 'none' && { uidPolicy: input.uidPolicy }),
    delivery: input.delivery,
    encryptionKeyId: input.encryptionKeyId,
    createdAt: at,
    updatedAt: at,
  };
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          factoryCounterUpdate(db, accountId, input.factoryId, 'openJobCount', 1, at),
          { Put: { TableName: db.table, Item: imageItem, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Put: { TableName: db.table, Item: jobItem, ConditionExpression: 'attribute_not_exists(pk)' } },
          auditItem(db, { accountId, actor, action: 'image.register', targetType: 'image', targetId: imageId, details: { name: input.name, jobId, factoryId: input.factoryId, delivery: input.delivery, ...(input.unitFields && { unitFields: input.unitFields }), ...(input.onFailure && { onFailure: input.onFailure }), ...(input.uidPolicy && { uidPolicy: input.uidPolicy }) } }, at),
        ],
      }),
    );
  } catch (error) {
    if (cancelledConditions(error)?.[0]) throw new NotFoundError('Factory');
    throw error;
  }
  return withUpload(objects, accountId, { image: toImageView(imageItem), job: toJobView(toJobRecord(jobItem), now), binding }, now);
}

function requireEncryptionForCloud(input: { delivery: 'direct' | 'cloud'; encryptionKeyId?: string }): void {
  if (input.delivery === 'cloud' && !input.encryptionKeyId) {
    throw new BadRequestError('encryption_required', 'Cloud delivery requires an encrypted image: give its encryptionKeyId', [
      { path: 'encryptionKeyId', message: 'is required when delivery is "cloud"' },
    ]);
  }
}

/** The image item as registered (or brought by a replace): its binding is kept with it. */
function newImageItem(accountId: string, ids: { imageId: string; jobId: string; factoryId: string; binding: string; at: string }, input: ReplaceImageInput) {
  return {
    ...keys.image(accountId, ids.imageId),
    type: 'image',
    imageId: ids.imageId,
    jobId: ids.jobId,
    factoryId: ids.factoryId,
    name: input.name,
    description: input.description,
    contentSha256: input.contentSha256,
    sizeBytes: input.sizeBytes,
    delivery: input.delivery,
    encryptionKeyId: input.encryptionKeyId,
    steps: input.steps ?? [],
    status: input.delivery === 'cloud' ? 'pending_upload' : 'registered',
    binding: ids.binding,
    createdAt: ids.at,
    updatedAt: ids.at,
  };
}

/** A cloud image comes back with the presigned PUT its bytes go up with. */
async function withUpload(objects: ImageObjects, accountId: string, result: RegisteredImage, now: Date): Promise<RegisteredImage> {
  if (result.image.delivery !== 'cloud') return result;
  return { ...result, upload: { ...(await objects.presignUpload(accountId, result.image.imageId, result.image.contentSha256, now)), method: 'PUT' } };
}

function bindingClaims(accountId: string, ids: { factoryId: string; imageId: string; jobId: string }, sha256: string, now: Date): BindingClaims {
  return { iss: 'flashline', acct: accountId, fac: ids.factoryId, img: ids.imageId, job: ids.jobId, sha256, iat: Math.floor(now.getTime() / 1000) };
}

/**
 * POST /v1/jobs/{jobId}/replace: a new image for a running job, in one transaction with the job
 * (its imageId and imageVersion; counters, serial position, unit fields, restrictions and
 * targets untouched), the old image's `replacedBy` and the audit record. The job's condition
 * names the image it replaces, so two replaces at once cannot both win, and every reservation
 * conditioned on the old image fails from the commit on (image_replaced). The old cloud object
 * is deleted by the caller once this has committed (`replaced.previous`).
 */
export async function replaceJobImage(
  deps: { db: Db; signer: KmsJwsSigner; objects: ImageObjects },
  accountId: string,
  jobId: string,
  input: ReplaceImageInput,
  actor: string,
): Promise<RegisteredImage & { previous: { imageId: string; delivery: 'direct' | 'cloud' } }> {
  requireEncryptionForCloud(input);
  const { db, signer, objects } = deps;
  const current = await getJobRecord(db, accountId, jobId);
  if (current.status === 'deleted') throw new NotFoundError('Job', `Job ${jobId} was deleted; it is listed with ?status=deleted`);
  const now = new Date();
  const at = now.toISOString();
  const imageId = newId('img');
  const ids = { imageId, jobId, factoryId: current.factoryId };
  const binding = await signer.sign('flashline-binding+jwt', { ...bindingClaims(accountId, ids, input.contentSha256, now) });
  const imageItem = newImageItem(accountId, { ...ids, binding, at }, input);
  const imageVersion = current.imageVersion + 1;
  try {
    await db.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: db.table,
              Key: keys.job(accountId, jobId),
              UpdateExpression: `SET imageId = :imageId, imageVersion = :version, delivery = :delivery, updatedAt = :at${input.encryptionKeyId ? ', encryptionKeyId = :keyId' : ''}${
                input.encryptionKeyId ? '' : ' REMOVE encryptionKeyId'
              }`,
              ConditionExpression: 'imageId = :replaced AND #status <> :deleted',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':imageId': imageId,
                ':version': imageVersion,
                ':delivery': input.delivery,
                ':at': at,
                ':replaced': current.imageId,
                ':deleted': 'deleted',
                ...(input.encryptionKeyId && { ':keyId': input.encryptionKeyId }),
              },
            },
          },
          { Put: { TableName: db.table, Item: imageItem, ConditionExpression: 'attribute_not_exists(pk)' } },
          {
            Update: {
              TableName: db.table,
              Key: keys.image(accountId, current.imageId),
              UpdateExpression: 'SET replacedBy = :imageId, updatedAt = :at',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':imageId': imageId, ':at': at },
            },
          },
          auditItem(
            db,
            { accountId, actor, action: 'job.replace', targetType: 'job', targetId: jobId, details: { fromImageId: current.imageId, toImageId: imageId, imageVersion, name: input.name, delivery: input.delivery } },
            at,
          ),
        ],
      }),
    );
  } catch (error) {
    if (!cancelledConditions(error)?.[0]) throw error;
    const now = await getJobRecord(db, accountId, jobId);
    if (now.status === 'deleted') throw new NotFoundError('Job', `Job ${jobId} was deleted; it is listed with ?status=deleted`);
    throw new ConflictError('concurrent_change', "The job's image was replaced meanwhile; read the job again", { imageId: now.imageId });
  }
  const job = toJobView({ ...current, imageId, imageVersion, delivery: input.delivery, encryptionKeyId: input.encryptionKeyId ?? null, updatedAt: at }, now);
  const result = await withUpload(objects, accountId, { image: toImageView(imageItem), job, binding }, now);
  return { ...result, previous: { imageId: current.imageId, delivery: current.delivery } };
}

export async function getImage(db: Db, accountId: string, imageId: string, consistent = false): Promise<ImageView> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.image(accountId, imageId), ConsistentRead: consistent }));
  if (!Item) throw new NotFoundError('Image');
  return toImageView(Item);
}

export async function createUploadUrl(deps: { db: Db; objects: ImageObjects }, accountId: string, imageId: string): Promise<PresignedRequest & { method: 'PUT' }> {
  const image = await getImage(deps.db, accountId, imageId, true);
  if (image.status !== 'pending_upload') {
    throw new ConflictError('image_not_pending', `Only an image waiting for its upload takes one; this one is ${image.status}`, { status: image.status });
  }
  return { ...(await deps.objects.presignUpload(accountId, imageId, image.contentSha256)), method: 'PUT' };
}

/** What became of one uploaded object version. */
export type UploadOutcome =
  | { outcome: 'available' }
  | { outcome: 'rejected'; reason: string; objectDeleted: true }
  /** The image no longer waits for an upload: its verdict stands, the extra version went unless it is the verified one. */
  | { outcome: 'not_pending'; status: ImageStatus; objectDeleted: boolean }
  /** No image, or its job was deleted: nobody will ever download it. */
  | { outcome: 'orphaned'; reason: string; objectDeleted: true }
  /** The version was gone before we read it (deleted or expired): there is nothing to judge. */
  | { outcome: 'vanished' };

export interface UploadedObject {
  accountId: string;
  imageId: string;
  objectKey: string;
  versionId: string;
}

/**
 * The image verifier's work on one uploaded object version, state first: an object is hashed
 * only while its image waits for its upload and its job still exists; every other object is
 * deleted (rejected, orphaned, or a second upload over a verified image), except the version
 * an available image was verified with, so a repeated event changes nothing.
 */
export async function verifyUpload(deps: { db: Db; objects: ImageObjects }, upload: UploadedObject): Promise<UploadOutcome> {
  const { db, objects } = deps;
  const remove = () => objects.deleteVersion(upload.objectKey, upload.versionId);
  // Two tries: a conditional write lost to a concurrent verdict is decided again on what is there now.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const item = await readItem(db, keys.image(upload.accountId, upload.imageId));
    if (!item) {
      await remove();
      return { outcome: 'orphaned', reason: 'no such image', objectDeleted: true };
    }
    const image = toImageView(item);
    const job = await readItem(db, keys.job(upload.accountId, image.jobId));
    if (!job || job.status === 'deleted') {
      await remove();
      return { outcome: 'orphaned', reason: 'the job was deleted', objectDeleted: true };
    }
    if (job.imageId !== image.imageId) {
      // A late upload of an image its job has replaced since: no programmer will ever fetch it.
      await remove();
      return { outcome: 'orphaned', reason: 'the job replaced this image', objectDeleted: true };
    }
    if (image.status !== 'pending_upload') {
      // An image verified before versions were recorded keeps whatever it has: we cannot tell which one it was.
      const keep = image.status === 'available' && (item.objectVersionId === upload.versionId || item.objectVersionId === undefined);
      if (!keep) await remove();
      return { outcome: 'not_pending', status: image.status, objectDeleted: !keep };
    }
    let actual: { sizeBytes: number; sha256: string };
    try {
      actual = await objects.digest(upload.objectKey, upload.versionId);
    } catch (error) {
      if (error instanceof Error && (error.name === 'NoSuchVersion' || error.name === 'NoSuchKey')) return { outcome: 'vanished' };
      throw error;
    }
    const verdict = await recordUploadVerdict(db, upload.accountId, image, upload.versionId, actual);
    if (verdict === 'lost') continue;
    if (verdict.status === 'rejected') {
      await remove();
      return { outcome: 'rejected', reason: verdict.reason, objectDeleted: true };
    }
    return { outcome: 'available' };
  }
  throw new ConflictError('image_verification_contended', `Image ${upload.imageId} kept changing while its upload was verified`);
}

async function readItem(db: Db, key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: key, ConsistentRead: true }));
  return Item;
}

/**
 * The verdict on a pending image, with the version it was made on. Only a pending image changes:
 * a late or repeated upload can never turn a rejected image available, nor an available one
 * rejected; `lost` says another verdict came first.
 */
async function recordUploadVerdict(
  db: Db,
  accountId: string,
  image: ImageView,
  versionId: string,
  actual: { sizeBytes: number; sha256: string },
): Promise<{ status: 'available' } | { status: 'rejected'; reason: string } | 'lost'> {
  const problems = [
    ...(actual.sizeBytes !== image.sizeBytes ? [`size ${actual.sizeBytes} bytes, expected ${image.sizeBytes}`] : []),
    ...(actual.sha256 !== image.contentSha256 ? [`SHA-256 ${actual.sha256}, expected ${image.contentSha256}`] : []),
  ];
  const reason = problems.join('; ');
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.image(accountId, image.imageId),
        UpdateExpression: reason
          ? 'SET #status = :rejected, updatedAt = :at, rejectionReason = :reason, rejectedVersionId = :version REMOVE verificationError'
          : 'SET #status = :available, updatedAt = :at, objectVersionId = :version REMOVE verificationError',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':at': nowIso(),
          ':pending': 'pending_upload',
          ':version': versionId,
          ...(reason ? { ':rejected': 'rejected', ':reason': reason } : { ':available': 'available' }),
        },
      }),
    );
  } catch (error) {
    if (isConditionFailure(error)) return 'lost';
    throw error;
  }
  return reason ? { status: 'rejected', reason } : { status: 'available' };
}

/**
 * Best effort, after a verification attempt failed unexpectedly (S3, KMS or DynamoDB errors): the
 * pending image says why it is still pending (`verificationError`, cleared by the verdict), so an
 * operator looking at the item sees more than a status that never moves. Lambda retries the
 * event; the last failure also lands in the verifier's on-failure queue.
 */
export async function noteVerificationFailure(db: Db, accountId: string, imageId: string, versionId: string, error: unknown): Promise<void> {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.image(accountId, imageId),
        UpdateExpression: 'SET verificationError = :error',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'pending_upload', ':error': { at: nowIso(), versionId, message: message.slice(0, 500) } },
      }),
    );
  } catch {
    // The failure is logged by the caller; a missing or settled image has nothing to note.
  }
}
