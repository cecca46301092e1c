import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import type { BodyOf, ParamsOf, QueryOf, ResponseOf, RouteContract } from '../contract/route.js';
import { ROLE_RANK } from '../contract/route.js';
import {
  AppError,
  ForbiddenError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  UnauthenticatedError,
  ValidationError,
  type ValidationIssue,
} from '../domain/errors.js';
import { errorToResponse, jsonResponse } from './error-mapping.js';
import { logger } from './logger.js';
import { type Principal, principalFromContext } from './principal.js';

export type HttpEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: { lambda?: Record<string, unknown> } };
};

export interface RouteRequest<R extends RouteContract> {
  params: ParamsOf<R>;
  query: QueryOf<R>;
  body: BodyOf<R>;
  /** Present on every non-public route; public routes get undefined. */
  principal: R['access']['kind'] extends 'public' ? undefined : Principal;
  requestId: string;
  /**
   * The API's public base URL from configuration (for credentials files and the OpenAPI
   * `servers`). Never derived from the request: Host and X-Forwarded-* are the caller's to forge.
   */
  baseUrl: string;
}

export interface BoundRoute {
  contract: RouteContract;
  handle: (request: RouteRequest<RouteContract>) => Promise<unknown>;
}

/** A response with another success status than the route's usual one (e.g. 200 for a replayed idempotent create). */
export class WithStatus<T> {
  constructor(
    readonly status: 200 | 201 | 204,
    readonly body: T,
  ) {}
}

/** Binds a route module's function to its contract; the types follow from the contract. */
export function implement<R extends RouteContract>(
  contract: R,
  handle: (request: RouteRequest<R>) => Promise<ResponseOf<R> | WithStatus<ResponseOf<R>>>,
): BoundRoute {
  return { contract, handle: handle as unknown as BoundRoute['handle'] };
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

interface CompiledRoute {
  bound: BoundRoute;
  pattern: RegExp;
  paramNames: string[];
}

function compile(bound: BoundRoute): CompiledRoute {
  const paramNames: string[] = [];
  const source = bound.contract.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{(\w+)\\?\}|\{(\w+)\}/g, (_m, a, b) => {
    paramNames.push(a ?? b);
    return '([^/]+)';
  });
  return { bound, pattern: new RegExp(`^${source}/?$`), paramNames };
}

interface MatchedRoute {
  bound: BoundRoute;
  rawParams: Record<string, string>;
}

function matchRoute(routes: CompiledRoute[], method: string, path: string): MatchedRoute {
  const allowed: string[] = [];
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    if (route.bound.contract.method !== method) {
      allowed.push(route.bound.contract.method);
      continue;
    }
    const rawParams: Record<string, string> = {};
    route.paramNames.forEach((name, i) => {
      rawParams[name] = decodePathSegment(name, match[i + 1] ?? '');
    });
    return { bound: route.bound, rawParams };
  }
  if (allowed.length > 0) throw new MethodNotAllowedError(method, path, allowed);
  throw new AppError(404, 'not_found', `No route for ${method} ${path}`);
}

/** A segment that is not valid percent-encoding (`%E0%A4%A`) is the caller's mistake: 400, not a URIError's 500. */
function decodePathSegment(name: string, segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ValidationError([{ path: name, message: 'is not valid percent-encoding' }]);
  }
}

function authorize(contract: RouteContract, event: HttpEvent): Principal | undefined {
  if (contract.access.kind === 'public') return undefined;
  // The authorizer runs before us on every protected route; a request without its context is
  // refused anyway, so a misconfigured route can never become public.
  const principal = principalFromContext(event.requestContext.authorizer?.lambda);
  if (!principal) throw new UnauthenticatedError();
  if (contract.access.kind === 'programmer') {
    if (principal.kind !== 'programmer') throw new ForbiddenError('Only programmer credentials may call device routes');
    return principal;
  }
  if (principal.kind !== 'account') throw new ForbiddenError('Programmer credentials cannot call account routes');
  if (ROLE_RANK[principal.role] < ROLE_RANK[contract.access.minimumRole]) {
    throw new ForbiddenError(`This needs the ${contract.access.minimumRole} role; this key is ${principal.role}`);
  }
  return principal;
}

function readBody(contract: RouteContract, event: HttpEvent): unknown {
  const raw = event.body;
  if (raw === undefined || raw === null || raw === '') return undefined;
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  const limit = contract.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (bytes.byteLength > limit) throw PayloadTooLargeError.bytes(limit);
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError([{ path: '', message: 'the body is not valid JSON' }], 'The request body is not valid JSON');
  }
  const batch = contract.maxBatch;
  if (batch && typeof parsed === 'object' && parsed !== null) {
    const items = (parsed as Record<string, unknown>)[batch.field];
    if (Array.isArray(items) && items.length > batch.max) throw PayloadTooLargeError.items(batch.field, batch.max);
  }
  return parsed;
}

function toIssues(error: z.ZodError, prefix: string): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.'),
    message: issue.message,
  }));
}

function validate<T>(schema: z.ZodType<T> | undefined, value: unknown, prefix: string, issues: ValidationIssue[]): T {
  if (!schema) return value as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  issues.push(...toIssues(result.error, prefix));
  return undefined as T;
}

export interface HttpHandlerOptions {
  /**
   * The API's base URL as clients reach it (the stack sets PUBLIC_API_URL). Functions whose
   * routes never hand out the URL (the device API) leave it unset; reading `baseUrl` then is a
   * wiring mistake and fails loudly rather than falling back to the caller's headers.
   */
  publicBaseUrl?: string;
  /**
   * The per-account and per-programmer rate limits (store/rate-limits.ts): called with the
   * caller of every protected route before anything else of the request touches DynamoDB;
   * throws `ThrottledError` (429) when a limit is exceeded.
   */
  rateLimiter?: { admit(principal: Principal): Promise<void> };
}

function configuredBaseUrl(options: HttpHandlerOptions): string {
  if (!options.publicBaseUrl) throw new Error('This function has no public base URL configured (PUBLIC_API_URL)');
  return options.publicBaseUrl.endsWith('/') ? options.publicBaseUrl : `${options.publicBaseUrl}/`;
}

/**
 * The one middy chain every API function uses: header normalizer → route match → authorization
 * → rate limits → JSON body → zod validation → route function → error mapping (last).
 */
export function createHttpHandler(routes: BoundRoute[], options: HttpHandlerOptions = {}) {
  const compiled = routes.map(compile);

  const dispatch = async (event: HttpEvent, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const method = event.requestContext.http.method.toUpperCase();
    const { bound, rawParams } = matchRoute(compiled, method, event.requestContext.http.path);
    const { contract } = bound;
    const principal = authorize(contract, event);
    if (principal && options.rateLimiter) await options.rateLimiter.admit(principal);
    const rawBody = readBody(contract, event);

    const issues: ValidationIssue[] = [];
    const params = validate(contract.params, rawParams, '', issues);
    const query = validate(contract.query, event.queryStringParameters ?? {}, 'query', issues);
    const body = contract.body ? validate(contract.body, rawBody, '', issues) : validateNoBody(rawBody, issues);
    if (issues.length > 0) throw new ValidationError(issues);

    const result = await bound.handle({
      params,
      query,
      body,
      principal,
      requestId: context.awsRequestId,
      get baseUrl() {
        return configuredBaseUrl(options);
      },
    } as RouteRequest<RouteContract>);
    if (result instanceof WithStatus) return jsonResponse(result.status, result.status === 204 ? undefined : result.body);
    return jsonResponse(contract.successStatus, contract.successStatus === 204 ? undefined : result);
  };

  // middy runs onError handlers in reverse order of use(): the error mapper is used first so
  // that it runs last, after anything else has had its say.
  return middy<HttpEvent, APIGatewayProxyStructuredResultV2>()
    .use({
      onError: async (request) => {
        const { response, unexpected } = errorToResponse(request.error);
        if (unexpected) logger.error('unexpected error', { error: request.error as Error });
        request.response = response;
        logRequest(request.event, response.statusCode);
      },
      after: async (request) => {
        logRequest(request.event, request.response?.statusCode);
      },
    })
    .use(httpHeaderNormalizer())
    .handler(dispatch);
}

/** A POST without a body accepts nothing, or {}. */
function validateNoBody(rawBody: unknown, issues: ValidationIssue[]): undefined {
  if (rawBody === undefined) return undefined;
  if (typeof rawBody === 'object' && rawBody !== null && !Array.isArray(rawBody) && Object.keys(rawBody).length === 0) return undefined;
  issues.push({ path: '', message: 'this request takes no body (or {})' });
  return undefined;
}

function logRequest(event: HttpEvent, status: number | undefined): void {
  // One line per request: it is also what keeps the local emulator from waiting for log output.
  logger.info('request', {
    method: event.requestContext.http.method,
    path: event.requestContext.http.path,
    status,
    accountId: event.requestContext.authorizer?.lambda?.accountId,
  });
}
