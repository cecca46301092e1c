import type { z } from 'zod';

/**
 * Who may call a route. `public` routes run without the authorizer (JWKS, OpenAPI).
 * `operator` may steer jobs (pause, resume, restart) beside everything a viewer reads; `author`
 * adds images, jobs, replace and delete; `admin` is the whole account (never limited to factories).
 */
export const ACCOUNT_ROLES = ['admin', 'author', 'operator', 'viewer'] as const;
export type AccountRole = (typeof ACCOUNT_ROLES)[number];
export type Role = AccountRole | 'programmer';
export type Access =
  | { kind: 'public' }
  | {
      kind: 'account';
      minimumRole: AccountRole;
      /**
       * The route creates or changes what every factory of the account shares (serial pools, data
       * lists): refused (403) to a key or person limited to factories, whatever its role.
       */
      accountWideWrite?: true;
    }
  | { kind: 'programmer' };

/**
 * Path parameters that name an object inside one factory. For a principal limited to factories
 * the handler chain resolves the object's factory (the factory itself for `factoryId`) and
 * answers 404 outside them, exactly as for another account's object. A new kind of object that
 * lives in a factory goes here (and gets its resolver in shared/store/factory-scope.ts).
 */
export const FACTORY_PARAMS = ['factoryId', 'programmerId', 'jobId', 'imageId', 'groupId'] as const;
export type FactoryParam = (typeof FACTORY_PARAMS)[number];
/**
 * Path parameters that name what the whole account shares (keys, sources, webhooks) or a
 * programmer's own object: no factory to check. A parameter in neither list is refused (404) to
 * a principal limited to factories, so forgetting to classify one fails closed.
 */
export const ACCOUNT_WIDE_PARAMS = ['keyId', 'personId', 'serialPoolId', 'macBlockId', 'certificateAuthorityId', 'dataListId', 'webhookId', 'authorizationId'] as const;

type AnyObject = z.ZodType<Record<string, unknown>>;

/**
 * One route of the HTTP contract. The same object drives request validation in the functions,
 * the OpenAPI document and the typed client, so the three can never disagree.
 */
export interface RouteContract<
  TParams extends AnyObject = AnyObject,
  TQuery extends AnyObject = AnyObject,
  TBody extends z.ZodType = z.ZodType,
  TResponse extends z.ZodType = z.ZodType,
  TAccess extends Access = Access,
> {
  operationId: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: `/v1/${string}`;
  summary: string;
  /** What a client must know beyond the summary (paging, ordering); goes into the OpenAPI description. */
  description?: string;
  /** Kept as the literal the route declares: it types the principal its function receives. */
  access: TAccess;
  params?: TParams;
  query?: TQuery;
  body?: TBody;
  /** Largest accepted body in bytes; larger bodies get 413 before they are parsed. */
  maxBodyBytes?: number;
  /** A top-level array of the body whose length beyond `max` is a 413, not a 400 (the contract's batch limits). */
  maxBatch?: { field: string; max: number };
  successStatus: 200 | 201 | 204;
  /** A second success status with the same body (a retried idempotent create answers 200 with what it stored). */
  replayStatus?: { status: 200; description: string };
  response: TResponse;
  /**
   * 409 codes this route may answer with, beyond the generic ones; documented in OpenAPI. Also
   * where a well-formed request does not fit the stored state of what it names (a serial its
   * authorization did not grant, a job's UID rule): a 400 is only for what the schema refuses.
   */
  errors?: readonly string[];
  /** Safe to retry automatically (reads, and writes the contract makes idempotent). */
  idempotent: boolean;
}

export function defineRoute<
  TParams extends AnyObject,
  TQuery extends AnyObject,
  TBody extends z.ZodType,
  TResponse extends z.ZodType,
  TAccess extends Access,
>(route: RouteContract<TParams, TQuery, TBody, TResponse, TAccess>): RouteContract<TParams, TQuery, TBody, TResponse, TAccess> {
  return route;
}

export type ParamsOf<R> = R extends RouteContract<infer P, AnyObject, z.ZodType, z.ZodType> ? z.output<P> : never;
export type QueryOf<R> = R extends RouteContract<AnyObject, infer Q, z.ZodType, z.ZodType> ? z.output<Q> : never;
export type BodyOf<R> = R extends RouteContract<AnyObject, AnyObject, infer B, z.ZodType> ? z.output<B> : never;
export type BodyInputOf<R> = R extends RouteContract<AnyObject, AnyObject, infer B, z.ZodType> ? z.input<B> : never;
export type ResponseOf<R> = R extends RouteContract<AnyObject, AnyObject, z.ZodType, infer T> ? z.output<T> : never;

export const ROLE_RANK: Record<AccountRole, number> = { viewer: 1, operator: 2, author: 3, admin: 4 };

/**
 * Codes of a route's `errors` that are answered 400, not 409: rules about the request itself that
 * a schema cannot express (cloud delivery needs an encryption key id). OpenAPI documents them
 * under 400; every other code of `errors` under 409.
 */
export const BAD_REQUEST_CODES: ReadonlySet<string> = new Set(['encryption_required']);
