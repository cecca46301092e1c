import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { allRoutes } from './index.js';
import { ErrorBody } from './common.js';

const GENERIC_ERRORS: Record<number, string> = {
  400: 'invalid_request: details.issues names each field and the reason',
  401: 'unauthenticated: missing, unknown or revoked token',
  403: 'forbidden: the role does not allow this',
  404: 'not_found: also for every object of another account',
  413: 'payload_too_large',
  429: 'throttled: a rate limit of the account or programmer (device and management routes count apart) was exceeded, or the cloud is busy; nothing was done. Retry after the Retry-After header (seconds), also in details.retryAfterSeconds',
};

/** Every 429 says when to come back; the typed client waits at least that long before its retry. */
const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'Seconds to wait before retrying (an integer, at least 1)', schema: { type: 'integer', minimum: 1 } },
} as const;

/** The OpenAPI 3.1 document of the whole API, generated from the zod schemas of the contract. */
export function buildOpenApiDocument(serverUrl?: string): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });

  for (const route of allRoutes) {
    const responses: Record<string, { description: string; headers?: typeof RETRY_AFTER_HEADER; content?: Record<string, { schema: z.ZodType }> }> = {
      [route.successStatus]:
        route.successStatus === 204
          ? { description: 'Done, no content' }
          : { description: 'Success', content: { 'application/json': { schema: route.response } } },
    };
    const statuses = route.access.kind === 'public' ? [400, 429] : [400, 401, 403, 404, 413, 429];
    for (const status of statuses) {
      responses[status] = {
        description: GENERIC_ERRORS[status] ?? 'Error',
        ...(status === 429 && { headers: RETRY_AFTER_HEADER }),
        content: { 'application/json': { schema: ErrorBody } },
      };
    }
    if (route.errors?.length) {
      responses[409] = {
        description: `Conflict: ${route.errors.join(', ')}`,
        content: { 'application/json': { schema: ErrorBody } },
      };
    }
    registry.registerPath({
      operationId: route.operationId,
      method: route.method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete',
      path: route.path,
      summary: route.summary,
      security: route.access.kind === 'public' ? [] : [{ bearer: [] }],
      ...((route.access.kind !== 'public' || route.description) && {
        description: [
          route.access.kind === 'public' ? undefined : route.access.kind === 'programmer' ? 'Programmer credentials.' : `Account key, role ${route.access.minimumRole} or higher.`,
          route.description,
        ]
          .filter(Boolean)
          .join(' '),
      }),
      request: {
        ...(route.params && { params: route.params as z.ZodObject }),
        ...(route.query && { query: route.query as z.ZodObject }),
        ...(route.body && { body: { content: { 'application/json': { schema: route.body } } } }),
      },
      responses,
    });
  }

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Flashline API', version: '1.0.0', description: 'Cloud-connected production flash programming' },
    ...(serverUrl && { servers: [{ url: serverUrl }] }),
  }) as unknown as Record<string, unknown>;
}
