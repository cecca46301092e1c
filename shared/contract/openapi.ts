import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { allRoutes } from './index.js';
import { BAD_REQUEST_CODES, type RouteContract } from './route.js';
import { ErrorBody } from './common.js';

const GENERIC_ERRORS: Record<number, string> = {
  400: 'invalid_request: details.issues names each field and the reason (also a `cursor` this list did not hand out)',
  401:
    'unauthenticated: an unknown, revoked or malformed token, with the Error body. Exception: a request WITHOUT an Authorization header is ' +
    'answered by API Gateway before any Flashline code runs (the header is the authorizer\'s identity source), with the body ' +
    '{"message":"Unauthorized"} (GatewayUnauthorized) and no error code. Clients should treat any 401 as unauthenticated.',
  403: 'forbidden: the role does not allow this',
  404: 'not_found: also for every object of another account',
  413: 'payload_too_large: the body is larger than the route accepts (64 KiB unless stated), or a batch has more items than allowed',
  429: 'throttled: a rate limit of the account or programmer (device and management routes count apart) was exceeded, or the cloud is busy; nothing was done. Retry after the Retry-After header (seconds), also in details.retryAfterSeconds',
};

/** Every 429 says when to come back; the typed client waits at least that long before its retry. */
const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'Seconds to wait before retrying (an integer, at least 1)', schema: { type: 'integer', minimum: 1 } },
} as const;

/**
 * API Gateway's own 401 for a request without an Authorization header. HTTP APIs cannot shape
 * it: the authorizer's identity source is that header, and without one API Gateway refuses the
 * request itself. Dropping the identity source would also drop the authorizer cache, running the
 * authorizer (a Lambda invocation and a DynamoDB read) on every request of every programmer.
 */
export const GatewayUnauthorized = z
  .object({ message: z.literal('Unauthorized') })
  .meta({ id: 'GatewayUnauthorized', description: "API Gateway's body for a request without an Authorization header" });

/** Unwraps optional and nullable to the schema inside. */
function innerSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current.unwrap() as z.ZodType;
  return current;
}

/**
 * An id of something this API creates: `jobId`, `dataListId`, `certificateAuthorityId`. Not an
 * `encryptionKeyId`, the author's name for a key the programmers hold, which nothing here looks up.
 */
const isEntityId = (key: string): boolean => /^[a-z][A-Za-z]*Id$/.test(key) && key !== 'encryptionKeyId';

/**
 * Where a response carries ids: `{id}` fields at its top level, in the entities it holds (an
 * object under a key whose id it carries: `{ job: { jobId, factoryId } }`, not `credentials`)
 * and in the first item of a list. First found wins, top level first.
 */
function idPointers(response: z.ZodType): Map<string, string> {
  const pointers = new Map<string, string>();
  const idsOf = (object: z.ZodObject, pointer: string) => {
    for (const [key, value] of Object.entries(object.shape as Record<string, z.ZodType>)) {
      if (isEntityId(key) && innerSchema(value) instanceof z.ZodString && !pointers.has(key)) pointers.set(key, `${pointer}/${key}`);
    }
  };
  const top = innerSchema(response);
  if (!(top instanceof z.ZodObject)) return pointers;
  idsOf(top, '');
  for (const [key, value] of Object.entries(top.shape as Record<string, z.ZodType>)) {
    const inner = innerSchema(value);
    if (inner instanceof z.ZodObject && `${key}Id` in inner.shape) idsOf(inner, `/${key}`);
    if (key === 'items' && inner instanceof z.ZodArray && innerSchema(inner.element as z.ZodType) instanceof z.ZodObject) {
      idsOf(innerSchema(inner.element as z.ZodType) as z.ZodObject, '/items/0');
    }
  }
  return pointers;
}

interface Link {
  operationId: string;
  parameters?: Record<string, string>;
  requestBody?: Record<string, string>;
}

/** Top-level `{id}` fields of a route's JSON body (`jobId` of an authorization request). */
function bodyIdFields(route: RouteContract): string[] {
  const body = route.body && innerSchema(route.body);
  if (!(body instanceof z.ZodObject)) return [];
  return Object.keys(body.shape as Record<string, z.ZodType>).filter(isEntityId);
}

/**
 * OpenAPI links from each operation to every operation that takes an id its response carries,
 * in its path (a created image → its job's reads and actions, a list → its first item) or as a
 * top-level body field (a device job → an authorization request for it), derived from the
 * contract so a new route is linked without anyone writing links by hand. Generic clients and
 * stateful fuzzers follow them from one call to the next; body fields are merged into a body
 * the client builds.
 */
function linksOf(route: RouteContract): Record<string, Link> | undefined {
  const pointers = idPointers(route.response);
  const links: Record<string, Link> = {};
  for (const target of allRoutes) {
    // Programmer credentials cannot call account routes, nor account keys device routes.
    if (target === route || (target.access.kind === 'programmer') !== (route.access.kind === 'programmer')) continue;
    const pathNames = [...target.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const bodyNames = bodyIdFields(target).filter((name) => pointers.has(name));
    if (!pathNames.every((name) => pointers.has(name)) || pathNames.length + bodyNames.length === 0) continue;
    const expression = (name: string) => `$response.body#${pointers.get(name)}`;
    links[target.operationId] = {
      operationId: target.operationId,
      ...(pathNames.length > 0 && { parameters: Object.fromEntries(pathNames.map((name) => [`path.${name}`, expression(name)])) }),
      ...(bodyNames.length > 0 && { requestBody: Object.fromEntries(bodyNames.map((name) => [name, expression(name)])) }),
    };
  }
  return Object.keys(links).length > 0 ? links : undefined;
}

/** The OpenAPI 3.1 document of the whole API, generated from the zod schemas of the contract. */
export function buildOpenApiDocument(serverUrl?: string): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });

  for (const route of allRoutes) {
    const responses: Record<string, { description: string; headers?: typeof RETRY_AFTER_HEADER; content?: Record<string, { schema: z.ZodType }> }> = {
      [route.successStatus]:
        route.successStatus === 204
          ? { description: 'Done, no content' }
          : { description: 'Success', content: { 'application/json': { schema: route.response } }, ...(linksOf(route) && { links: linksOf(route) }) },
    };
    // Every route reads a body when one is sent (a route without one refuses anything but {}), so any can answer 413.
    if (route.replayStatus) {
      responses[route.replayStatus.status] = { description: route.replayStatus.description, content: { 'application/json': { schema: route.response } } };
    }
    const statuses = route.access.kind === 'public' ? [400, 413, 429] : [400, 401, 403, 404, 413, 429];
    const badRequests = (route.errors ?? []).filter((code) => BAD_REQUEST_CODES.has(code));
    const conflicts = (route.errors ?? []).filter((code) => !BAD_REQUEST_CODES.has(code));
    for (const status of statuses) {
      const schema = status === 401 ? z.union([ErrorBody, GatewayUnauthorized]) : ErrorBody;
      responses[status] = {
        description: status === 400 && badRequests.length > 0 ? `${GENERIC_ERRORS[400]}; also ${badRequests.join(', ')}` : (GENERIC_ERRORS[status] ?? 'Error'),
        ...(status === 429 && { headers: RETRY_AFTER_HEADER }),
        content: { 'application/json': { schema } },
      };
    }
    if (conflicts.length > 0) {
      responses[409] = {
        description: `Conflict: ${conflicts.join(', ')}`,
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
        // A body the schema lets be absent (`EmptyBody`, optional fields only) is not required; any other is.
        ...(route.body && { body: { required: !route.body.safeParse(undefined).success, content: { 'application/json': { schema: route.body } } } }),
      },
      responses,
    });
  }

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Flashline API', version: '1.1.0', description: 'Cloud-connected production flash programming' },
    ...(serverUrl && { servers: [{ url: serverUrl }] }),
  }) as unknown as Record<string, unknown>;
}
