import type { MiddlewareObj, Request } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { type RouteContract, ROLE_RANK } from '../contract/route.js';
import { ForbiddenError, PayloadTooLargeError, UnauthenticatedError, ValidationError, type ValidationIssue } from '../domain/errors.js';
import { errorToResponse, jsonResponse } from './error-mapping.js';
import { type ApiRequestView, type ApiResponse, type HttpEvent, headerOf, viewOf } from './http-event.js';
import { logger } from './logger.js';
import { type Principal, principalFromContext } from './principal.js';
import { WithStatus } from './route.js';
import type { MatchedRoute, RouteTable } from './routing.js';

/** What the middlewares have learnt about the request so far, each filling in its part. */
export interface ChainState {
  request: ApiRequestView;
  route?: MatchedRoute;
  principal?: Principal;
  rawBody?: unknown;
  input?: { params: unknown; query: unknown; body: unknown };
}

/** middy hands the handler the Lambda context only: the state rides on it (middy's own convention). */
export type ChainContext = Context & { chain?: ChainState };
/** The route function's answer until serialization turns it into the response. */
export type ChainResult = ApiResponse | WithStatus<unknown>;
type ChainRequest = Request<HttpEvent, ChainResult, Error, ChainContext>;
export type ChainMiddleware = MiddlewareObj<HttpEvent, ChainResult, Error, ChainContext>;

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/** A middleware that needs a step which did not run is a wiring mistake of createHttpHandler. */
export function stateOf(context: ChainContext): ChainState {
  if (!context.chain) throw new Error('the event normalizer must run first in the chain');
  return context.chain;
}

function matchedRoute(state: ChainState): MatchedRoute {
  if (!state.route) throw new Error('the routing middleware must run before this one');
  return state.route;
}

/** REST (payload 1.0) or HTTP API (2.0): one view for everything after it. */
export function eventNormalizer(): ChainMiddleware {
  return {
    before: (request) => {
      request.context.chain = { request: viewOf(request.event) };
    },
  };
}

export function routing(table: RouteTable): ChainMiddleware {
  return {
    before: (request) => {
      const state = stateOf(request.context);
      state.route = table.match(state.request.method, state.request.path);
    },
  };
}

/**
 * The authorizer runs before us on every protected route; a request without its context is
 * refused anyway, so a misconfigured route can never become public.
 */
export function authentication(): ChainMiddleware {
  return {
    before: (request) => {
      const state = stateOf(request.context);
      const { access } = matchedRoute(state).bound.contract;
      if (access.kind === 'public') return;
      const principal = principalFromContext(state.request.callerContext);
      if (!principal) throw new UnauthenticatedError();
      if (access.kind === 'programmer') {
        if (principal.kind !== 'programmer') throw new ForbiddenError('Only programmer credentials may call device routes');
      } else {
        if (principal.kind !== 'account') throw new ForbiddenError('Programmer credentials cannot call account routes');
        if (ROLE_RANK[principal.role] < ROLE_RANK[access.minimumRole]) {
          throw new ForbiddenError(`This needs the ${access.minimumRole} role; this ${principal.via === 'key' ? 'key' : 'person'} is ${principal.role}`);
        }
        if (access.accountWideWrite && principal.factoryIds !== undefined) {
          throw new ForbiddenError('This changes what every factory of the account shares: it needs a key or person not limited to factories');
        }
      }
      state.principal = principal;
    },
  };
}

/** Counted once the caller is known and before anything else of the request touches DynamoDB. */
export function rateLimiting(limiter: { admit(principal: Principal): Promise<void> }): ChainMiddleware {
  return {
    before: async (request) => {
      const { principal } = stateOf(request.context);
      if (principal) await limiter.admit(principal);
    },
  };
}

/** JSON only, whatever Content-Type says (a wrong one is not worth a 415); size and batch limits before parsing deeper. */
export function bodyParsing(): ChainMiddleware {
  return {
    before: (request) => {
      const state = stateOf(request.context);
      state.rawBody = parseBody(matchedRoute(state).bound.contract, state.request);
    },
  };
}

function parseBody(contract: RouteContract, request: ApiRequestView): unknown {
  const raw = request.body;
  if (raw === undefined || raw === '') return undefined;
  const bytes = request.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
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

/** Params, query and body against the route's schemas; every issue of all three in one 400. */
export function validation(): ChainMiddleware {
  return {
    before: (request) => {
      const state = stateOf(request.context);
      const { bound, rawParams } = matchedRoute(state);
      const { contract } = bound;
      const issues: ValidationIssue[] = [];
      const params = validate(contract.params, rawParams, '', issues);
      const query = validate(contract.query, state.request.query, 'query', issues);
      const body = contract.body ? validate(contract.body, state.rawBody, '', issues) : validateNoBody(state.rawBody, issues);
      if (issues.length > 0) throw new ValidationError(issues);
      state.input = { params, query, body };
    },
  };
}

function validate(schema: z.ZodType | undefined, value: unknown, prefix: string, issues: ValidationIssue[]): unknown {
  if (!schema) return value;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    issues.push({ path: [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.'), message: issue.message });
  }
  return undefined;
}

/** A POST without a body accepts nothing, or {}. */
function validateNoBody(rawBody: unknown, issues: ValidationIssue[]): undefined {
  if (rawBody === undefined) return undefined;
  if (typeof rawBody === 'object' && rawBody !== null && !Array.isArray(rawBody) && Object.keys(rawBody).length === 0) return undefined;
  issues.push({ path: '', message: 'this request takes no body (or {})' });
  return undefined;
}

/**
 * Without the factory scoping middleware (factory-scoping.ts) a function must not serve a
 * principal limited to factories at all: refusing it is the fail-closed default.
 */
export function refuseFactoryScopedPrincipals(): ChainMiddleware {
  return {
    before: (request) => {
      const { principal } = stateOf(request.context);
      if (principal?.kind === 'account' && principal.factoryIds !== undefined) throw new ForbiddenError('This function does not serve principals limited to factories');
    },
  };
}

/** The route's answer as JSON, with the contract's success status unless the route chose another. */
export function serialization(): ChainMiddleware {
  return {
    after: (request) => {
      const answer = request.response;
      if (!(answer instanceof WithStatus)) return;
      request.response = jsonResponse(answer.status, answer.status === 204 ? undefined : answer.body);
    },
  };
}

/**
 * CORS on the answers, for the REST flavour: API Gateway answers its preflights, but a browser
 * reads an answer only with Access-Control-Allow-Origin, and a Lambda proxy answer carries only
 * what the function sets. Outermost, so it also marks the error bodies `errorMapping` makes.
 * Without allowed origins (the HTTP flavour, whose CORS configuration sets the headers) it adds
 * nothing.
 */
export function crossOrigin(allowedOrigins: readonly string[]): ChainMiddleware {
  const allowed = new Set(allowedOrigins);
  const mark = (request: ChainRequest) => {
    const response = request.response;
    if (allowed.size === 0 || !response || response instanceof WithStatus) return;
    const origin = headerOf(request.event, 'origin');
    response.headers = {
      ...response.headers,
      // Caches must not hand one origin's answer to another.
      vary: 'Origin',
      ...(origin !== undefined && allowed.has(origin) && { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'Allow, Retry-After' }),
    };
  };
  return { after: mark, onError: mark };
}

/**
 * Last on the way out: any error, from any middleware or route, becomes the one error body
 * (error-mapping.ts); and one log line per request, which is also what keeps the local
 * emulator from waiting for log output.
 */
export function errorMapping(): ChainMiddleware {
  return {
    onError: (request) => {
      const { response, unexpected } = errorToResponse(request.error);
      if (unexpected) logger.error('unexpected error', { error: request.error as Error });
      request.response = response;
      logRequest(request, response.statusCode);
    },
    after: (request) => {
      logRequest(request, request.response instanceof WithStatus ? undefined : request.response?.statusCode);
    },
  };
}

function logRequest(request: ChainRequest, status: number | undefined): void {
  const view = request.context.chain?.request ?? viewOf(request.event);
  logger.info('request', { method: view.method, path: view.path, status, accountId: view.callerContext?.accountId });
}
