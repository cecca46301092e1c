import middy from '@middy/core';
import { optionalEnv } from '../config.js';
import type { Context } from 'aws-lambda';
import type { Principal } from './principal.js';
import type { ApiResponse, HttpEvent } from './http-event.js';
import {
  type ChainContext,
  type ChainResult,
  authentication,
  bodyParsing,
  type ChainMiddleware,
  crossOrigin,
  errorMapping,
  eventNormalizer,
  refuseFactoryScopedPrincipals,
  rateLimiting,
  routing,
  serialization,
  stateOf,
  validation,
} from './middlewares.js';
import { type BoundRoute, type RouteRequest, WithStatus } from './route.js';
import { RouteTable } from './routing.js';

export type { ApiResponse, HttpEvent } from './http-event.js';
export { type BoundRoute, type RouteFunction, type RouteRequest, WithStatus, implement } from './route.js';

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
  /**
   * Per-factory scoping (factory-scoping.ts with the store's resolver), run after validation.
   * Without it, principals limited to factories are refused outright (403).
   */
  factoryScoping?: ChainMiddleware;
  /** Origins whose pages may read the answers (`crossOrigin`). Default: CORS_ORIGINS, set on the REST flavour only. */
  corsOrigins?: readonly string[];
}

/**
 * The one middy chain every API function uses. On the way in: event normalizer (REST or HTTP
 * API) → routing → authentication and role → rate limits → JSON body → zod validation →
 * factory scoping → the route. On the way out: serialization, then error mapping and the request log, then
 * the CORS headers, last (middy runs `after` and `onError` in reverse order of use()).
 */
export function createHttpHandler(routes: BoundRoute[], options: HttpHandlerOptions = {}): (event: HttpEvent, context: Context) => Promise<ApiResponse> {
  const chain = middy<HttpEvent, ChainResult, Error, ChainContext>()
    .use(crossOrigin(options.corsOrigins ?? configuredCorsOrigins()))
    .use(errorMapping())
    .use(serialization())
    .use(eventNormalizer())
    .use(routing(new RouteTable(routes)))
    .use(authentication());
  if (options.rateLimiter) chain.use(rateLimiting(options.rateLimiter));
  chain.use(bodyParsing()).use(validation()).use(options.factoryScoping ?? refuseFactoryScopedPrincipals()).handler((_event, context) => callRoute(context, options));
  return async (event, context) => {
    const response = await chain(event, context);
    if (response instanceof WithStatus) throw new Error('the serialization middleware did not run');
    return response;
  };
}

function configuredCorsOrigins(): string[] {
  return (optionalEnv('CORS_ORIGINS') ?? '').split(',').filter((origin) => origin !== '');
}

async function callRoute(context: ChainContext, options: HttpHandlerOptions): Promise<WithStatus<unknown>> {
  const state = stateOf(context);
  if (!state.route || !state.input) throw new Error('routing and validation must run before the route');
  const { contract, call } = state.route.bound;
  const request: RouteRequest<typeof contract> = {
    params: state.input.params as RouteRequest<typeof contract>['params'],
    query: state.input.query as RouteRequest<typeof contract>['query'],
    body: state.input.body,
    principal: state.principal,
    requestId: context.awsRequestId,
    get baseUrl() {
      return configuredBaseUrl(options);
    },
  };
  const result = await call(request);
  return result instanceof WithStatus ? result : new WithStatus(contract.successStatus, result);
}

function configuredBaseUrl(options: HttpHandlerOptions): string {
  if (!options.publicBaseUrl) throw new Error('This function has no public base URL configured (PUBLIC_API_URL)');
  return options.publicBaseUrl.endsWith('/') ? options.publicBaseUrl : `${options.publicBaseUrl}/`;
}
