import type { MiddlewareObj, Request } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { ACCOUNT_WIDE_PARAMS, FACTORY_PARAMS, type FactoryParam, type RouteContract, ROLE_RANK } from '../contract/route.js';
import { ForbiddenError, NotFoundError, PayloadTooLargeError, UnauthenticatedError, ValidationError, type ValidationIssue } from '../domain/errors.js';
import { errorToResponse, jsonResponse } from './error-mapping.js';
import { type ApiRequestView, type ApiResponse, type HttpEvent, viewOf } from './http-event.js';
import { logger } from './logger.js';
import { type AccountPrincipal, type Principal, principalFromContext, seesFactory } from './principal.js';
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
type ChainMiddleware = MiddlewareObj<HttpEvent, ChainResult, Error, ChainContext>;

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

/** Finds the factory an object of a factory lives in; undefined when the account has no such object. */
export interface FactoryResolver {
  factoryOf(accountId: string, param: Exclude<FactoryParam, 'factoryId'>, id: string): Promise<string | undefined>;
}

/** What a missing object is called in its 404, the same words another account's object gets. */
const NOT_FOUND_NAME: Record<FactoryParam, string> = { factoryId: 'Factory', programmerId: 'Programmer', jobId: 'Job', imageId: 'Image' };

/**
 * The one place per-factory scoping is enforced for a principal limited to factories: every
 * object a path parameter names must lie in one of its factories, and so must a `factoryId` in
 * the query or body; anything else answers 404 exactly as another account's object does. Lists
 * without a factory filter leave other factories out themselves (their store functions take
 * the principal as scope). Principals without `factoryIds` pass without a read.
 */
export function factoryScoping(resolver: FactoryResolver | undefined): ChainMiddleware {
  return {
    before: async (request) => {
      const state = stateOf(request.context);
      const principal = state.principal;
      if (principal?.kind !== 'account' || principal.factoryIds === undefined) return;
      if (!state.input) throw new Error('validation must run before factory scoping');
      const { params, query, body } = state.input as { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };
      for (const [name, value] of Object.entries(params ?? {})) {
        if (typeof value !== 'string') continue;
        if ((ACCOUNT_WIDE_PARAMS as readonly string[]).includes(name)) continue;
        if (!(FACTORY_PARAMS as readonly string[]).includes(name)) throw new NotFoundError('Object');
        const param = name as FactoryParam;
        if (param === 'factoryId') {
          requireFactory(principal, value, param);
          continue;
        }
        if (!resolver) throw new Error('this function has no factory resolver for principals limited to factories');
        const factoryId = await resolver.factoryOf(principal.accountId, param, value);
        if (factoryId === undefined) throw new NotFoundError(NOT_FOUND_NAME[param]);
        requireFactory(principal, factoryId, param);
      }
      for (const named of [query?.factoryId, isRecord(body) ? body.factoryId : undefined]) {
        if (typeof named === 'string') requireFactory(principal, named, 'factoryId');
      }
    },
  };
}

function requireFactory(principal: AccountPrincipal, factoryId: string, param: FactoryParam): void {
  if (!seesFactory(principal, factoryId)) throw new NotFoundError(NOT_FOUND_NAME[param]);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
