import * as contract from '../../../shared/contract/index.js';
import { implement } from '../../../shared/http/handler.js';
import { actorOf } from '../../../shared/http/principal.js';
import * as images from '../../../shared/store/images.js';
import { db, objects, signer } from '../deps.js';

export const imageRoutes = [
  implement(contract.registerImage, async ({ principal, body }) => images.registerImage({ db, signer, objects }, principal.accountId, body, actorOf(principal))),
  implement(contract.getImage, async ({ principal, params }) => ({ image: await images.getImage(db, principal.accountId, params.imageId) })),
  implement(contract.createUploadUrl, async ({ principal, params }) => ({
    upload: await images.createUploadUrl({ db, objects }, principal.accountId, params.imageId),
  })),
];
