import type { CallerType } from '../../shared/contract/account.js';
import { ROLE_RANK, type RouteContract } from '../../shared/contract/route.js';
import { seesFactory } from '../../shared/domain/factory-scope.js';

export type Caller = CallerType;

/**
 * Whether the console should offer an action: the route the action calls, judged by the same
 * rules the API applies (role rank, account-wide changes, the caller's factories), so the
 * console never offers what the API would refuse. A page passes the factory the action is
 * about, when there is one. The API still decides: this only keeps refusals off the screen.
 */
export function can(caller: Caller | undefined, action: Pick<RouteContract, 'access'>, factoryId?: string): boolean {
  if (!caller) return false;
  const { access } = action;
  if (access.kind !== 'account') return false;
  if (ROLE_RANK[caller.role] < ROLE_RANK[access.minimumRole]) return false;
  if (access.accountWideWrite && caller.factoryIds !== undefined) return false;
  return factoryId === undefined || seesFactory(caller, factoryId);
}
