import * as contract from '../../../shared/contract/index.js';
import { buildOpenApiDocument } from '../../../shared/contract/openapi.js';
import { implement } from '../../../shared/http/handler.js';
import { signer, ticketKey } from '../deps.js';

let openApiDocument: Record<string, unknown> | undefined;

export const metaRoutes = [
  // Both root keys: bindings verify with the first, session-key certificates (and v1 tickets) with the second.
  implement(contract.getSigningKeys, async () => ({ keys: await Promise.all([signer.jwk(), ticketKey.jwk()]) })),
  implement(contract.getOpenApi, async ({ baseUrl }) => {
    // Generated once per container: the schemas do not change while it lives.
    openApiDocument ??= buildOpenApiDocument(baseUrl);
    return openApiDocument;
  }),
];
