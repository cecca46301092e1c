import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RegisterImageInput } from '../contract/images.js';
import { BadRequestError, ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { DEFAULT_SERIAL_FORMAT, serialSettingsProblems } from '../domain/jobs.js';
import { auditItem } from './audit.js';
import { factoryCounterUpdate } from './factories.js';
import { type Db, cancelledConditions, isConditionFailure, nowIso } from './db.js';
import type { ImageObjects, PresignedRequest } from './image-objects.js';
import { type JobView, toJobRecord, toJobView } from './jobs.js';
import { keys } from './keys.js';
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
  if (input.delivery === 'cloud' && !input.encryptionKeyId) {
    throw new BadRequestError('encryption_required', 'Cloud delivery requires an encrypted image: give its encryptionKeyId', [
      { path: 'encryptionKeyId', message: 'is required when delivery is "cloud"' },
    ]);
  }
  const serialRule = { start: input.serials?.start ?? 1, step: input.serials?.step ?? 1, format: input.serials?.format ?? DEFAULT_SERIAL_FORMAT };
  const serialProblems = serialSettingsProblems(serialRule, input.restrictions?.maxCount ?? null);
  if (serialProblems.length > 0) throw new ValidationError(serialProblems);
  const { db, signer, objects } = deps;
  const now = new Date();
  const at = now.toISOString();
  const imageId = newId('img');
  const jobId = newId('job');
  const claims: BindingClaims = {
    iss: 'flashline',
    acct: accountId,
    fac: input.factoryId,
    img: imageId,
    job: jobId,
    sha256: input.contentSha256,
    iat: Math.floor(now.getTime() / 1000),
  };
  const binding = await signer.sign('flashline-binding+jwt', { ...claims });

  const imageItem = {
    ...keys.image(accountId, imageId),
    type: 'image',
    imageId,
    jobId,
    factoryId: input.factoryId,
    name: input.name,
    description: input.description,
    contentSha256: input.contentSha256,
    sizeBytes: input.sizeBytes,
    delivery: input.delivery,
    encryptionKeyId: input.encryptionKeyId,
    steps: input.steps ?? [],
    status: input.delivery === 'cloud' ? 'pending_upload' : 'registered',
    binding,
    createdAt: at,
    updatedAt: at,
  };
  const jobItem = {
    ...keys.job(accountId, jobId),
    gsi1pk: keys.factoryIndex(accountId, input.factoryId),
    gsi1sk: keys.jobIndexSk(jobId),
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
    serialStart: serialRule.start,
    serialStep: serialRule.step,
    serialFormat: serialRule.format,
    run: 1,
    authorized: 0,
    succeeded: 0,
    failed: 0,
    nextSerialIndex: 0,
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
          auditItem(db, { accountId, actor, action: 'image.register', targetType: 'image', targetId: imageId, details: { name: input.name, jobId, factoryId: input.factoryId, delivery: input.delivery } }, at),
        ],
      }),
    );
  } catch (error) {
    if (cancelledConditions(error)?.[0]) throw new NotFoundError('Factory');
    throw error;
  }
  const result: RegisteredImage = { image: toImageView(imageItem), job: toJobView(toJobRecord(jobItem), now), binding };
  if (input.delivery === 'cloud') {
    result.upload = { ...(await objects.presignUpload(accountId, imageId, input.contentSha256, now)), method: 'PUT' };
  }
  return result;
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

/**
 * The verifier's verdict on an uploaded object. Only a pending image changes: a late or repeated
 * upload can never turn a rejected image available, nor an available one rejected.
 */
export async function recordUploadVerdict(
  db: Db,
  accountId: string,
  imageId: string,
  actual: { sizeBytes: number; sha256: string },
): Promise<{ status: ImageStatus; changed: boolean }> {
  const image = await getImage(db, accountId, imageId, true);
  const problems = [
    ...(actual.sizeBytes !== image.sizeBytes ? [`size ${actual.sizeBytes} bytes, expected ${image.sizeBytes}`] : []),
    ...(actual.sha256 !== image.contentSha256 ? [`SHA-256 ${actual.sha256}, expected ${image.contentSha256}`] : []),
  ];
  const status: ImageStatus = problems.length === 0 ? 'available' : 'rejected';
  const at = nowIso();
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.image(accountId, imageId),
        UpdateExpression: problems.length ? 'SET #status = :status, updatedAt = :at, rejectionReason = :reason' : 'SET #status = :status, updatedAt = :at',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status, ':at': at, ':pending': 'pending_upload', ...(problems.length && { ':reason': problems.join('; ') }) },
      }),
    );
  } catch (error) {
    if (isConditionFailure(error)) return { status: image.status, changed: false };
    throw error;
  }
  return { status, changed: true };
}
