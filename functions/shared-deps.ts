import { requireEnv } from '../shared/config.js';
import { createDocumentClient, createKmsClient } from '../shared/store/clients.js';
import type { Db } from '../shared/store/db.js';
import { ImageUrls } from '../shared/store/image-objects.js';
import { KmsJwsSigner } from '../shared/store/signer.js';

/**
 * What every API function needs, built once per container at load. A missing variable fails
 * the cold start. Route modules import from here; unit tests replace the SDK clients with
 * aws-sdk-client-mock. No S3 client here: presigned URLs need only the signer, and the device
 * function's bundle stays without the S3 client (the management function adds it in its deps.ts).
 */
export const db: Db = {
  doc: createDocumentClient(),
  table: requireEnv('TABLE_NAME'),
  events: requireEnv('EVENTS_TABLE_NAME'),
};

export const signer = new KmsJwsSigner(createKmsClient(), requireEnv('SIGNING_KEY_ID'));

export const imageUrls = new ImageUrls(requireEnv('IMAGES_BUCKET'));
