import { ACCOUNT_WIDE_PARAMS, FACTORY_PARAMS, type FactoryParam } from '../contract/route.js';
import { NotFoundError } from '../domain/errors.js';
import { type ChainMiddleware, stateOf } from './middlewares.js';
import { type AccountPrincipal, seesFactory } from './principal.js';

/** Finds the factory an object of a factory lives in; undefined when the account has no such object. */
export interface FactoryResolver {
  factoryOf(accountId: string, param: Exclude<FactoryParam, 'factoryId'>, id: string): Promise<string | undefined>;
}

/** What a missing object is called in its 404, the same words another account's object gets. */
const NOT_FOUND_NAME: Record<FactoryParam, string> = { factoryId: 'Factory', programmerId: 'Programmer', jobId: 'Job', imageId: 'Image', groupId: 'Group' };

/**
 * The one place per-factory scoping is enforced for a principal limited to factories: every
 * object a path parameter names must lie in one of its factories, and so must a `factoryId` in
 * the query or body; anything else answers 404 exactly as another account's object does. Lists
 * without a factory filter leave other factories out themselves (their store functions take
 * the principal as scope). Principals without `factoryIds` pass without a read. Its own module,
 * installed by the management function only: the device bundle never carries it.
 */
export function factoryScoping(resolver: FactoryResolver): ChainMiddleware {
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
