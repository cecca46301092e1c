import { requireEnv } from '../shared/config.js';
import { createDocumentClient, createKmsClient, createS3Client } from '../shared/store/clients.js';
import type { Db } from '../shared/store/db.js';
import { ImageObjects } from '../shared/store/image-objects.js';
import { KmsJwsSigner } from '../shared/store/signer.js';

/**
 * What every API function needs, built once per container at load. A missing variable fails
 * the cold start. Route modules import from here; unit tests replace the SDK clients with
 * aws-sdk-client-mock.
 */
export const db: Db = {
  doc: createDocumentClient(),
  table: requireEnv('TABLE_NAME'),
  events: requireEnv('EVENTS_TABLE_NAME'),
};

export const signer = new KmsJwsSigner(createKmsClient(), requireEnv('SIGNING_KEY_ID'));

export const objects = new ImageObjects(createS3Client(), requireEnv('IMAGES_BUCKET'));
