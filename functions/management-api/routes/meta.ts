import * as contract from '../../../shared/contract/index.js';
import { buildOpenApiDocument } from '../../../shared/contract/openapi.js';
import { implement } from '../../../shared/http/handler.js';
import { signer } from '../../shared-deps.js';

let openApiDocument: Record<string, unknown> | undefined;

export const metaRoutes = [
  implement(contract.getSigningKeys, async () => ({ keys: [await signer.jwk()] })),
  implement(contract.getOpenApi, async ({ baseUrl }) => {
    // Generated once per container: the schemas do not change while it lives.
    openApiDocument ??= buildOpenApiDocument(baseUrl);
    return openApiDocument;
  }),
];
