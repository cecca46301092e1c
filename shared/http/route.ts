import type { BodyOf, ParamsOf, QueryOf, ResponseOf, RouteContract } from '../contract/route.js';
import type { PrincipalFor } from './principal.js';

export interface RouteRequest<R extends RouteContract> {
  params: ParamsOf<R>;
  query: QueryOf<R>;
  body: BodyOf<R>;
  /** The checked caller, typed by the route's access kind: undefined on public routes. */
  principal: PrincipalFor<R['access']>;
  requestId: string;
  /**
   * The API's public base URL from configuration (for credentials files and the OpenAPI
   * `servers`). Never derived from the request: Host and X-Forwarded-* are the caller's to forge.
   */
  baseUrl: string;
}

/** A response with another success status than the route's usual one (e.g. 200 for a replayed idempotent create). */
export class WithStatus<T> {
  constructor(
    readonly status: 200 | 201 | 204,
    readonly body: T,
  ) {}
}

export type RouteFunction<R extends RouteContract> = (request: RouteRequest<R>) => Promise<ResponseOf<R> | WithStatus<ResponseOf<R>>>;

/**
 * A route function bound to its contract. The chain hands it only a request it has built from
 * that same contract (routing → authentication → validation), which is what makes `call` safe.
 */
export interface BoundRoute {
  contract: RouteContract;
  call: (request: RouteRequest<RouteContract>) => Promise<unknown>;
}

/** Binds a route module's function to its contract; the types follow from the contract. */
export function implement<R extends RouteContract>(contract: R, handle: RouteFunction<R>): BoundRoute {
  // The one place where the contract's types are forgotten: the chain checks at run time what
  // they promise (the principal's kind and role, every schema) before it calls `handle`.
  return { contract, call: handle as unknown as BoundRoute['call'] };
}
