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

/** "an admin", "an author or admin", "an operator, author or admin": who holds `role` or a higher one. */
function rolesFrom(role: keyof typeof ROLE_RANK): string {
  const roles = (Object.keys(ROLE_RANK) as (keyof typeof ROLE_RANK)[]).filter((candidate) => ROLE_RANK[candidate] >= ROLE_RANK[role]).sort((a, b) => ROLE_RANK[a] - ROLE_RANK[b]);
  const listed = roles.length === 1 ? roles[0]! : `${roles.slice(0, -1).join(', ')} or ${roles.at(-1)!}`;
  return `${/^[aeiou]/.test(listed) ? 'an' : 'a'} ${listed}`;
}

/**
 * The one line a page shows where a whole form or page is not offered, as the API keys page
 * does: who may, and who the caller is ("Only an admin provisions programmers; you are signed in
 * as operator."). `doing` is the verb phrase. A caller whose role would do but who is limited to
 * factories is told that account-wide changes need every factory.
 */
export function needsNote(caller: Caller, action: Pick<RouteContract, 'access'>, doing: string): string {
  const { access } = action;
  if (access.kind !== 'account') return 'The console does not offer this.';
  if (ROLE_RANK[caller.role] >= ROLE_RANK[access.minimumRole] && caller.factoryIds !== undefined) {
    return `Only ${rolesFrom(access.minimumRole)} of every factory ${doing}; you are signed in for ${caller.factoryIds.length} ${caller.factoryIds.length === 1 ? 'factory' : 'factories'}.`;
  }
  return `Only ${rolesFrom(access.minimumRole)} ${doing}; you are signed in as ${caller.role}.`;
}
