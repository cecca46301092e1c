import type { CallerType } from '../contract/account.js';
import { ACCOUNT_ROLES, type Access, type AccountRole } from '../contract/route.js';

/**
 * Who is calling, as established by the authorizer. Every store call is scoped by `accountId`;
 * an account principal with `factoryIds` is further limited to those factories (absent = every
 * factory): whatever lies in another factory answers 404, as another account's objects do.
 */
export type AccountPrincipal = { kind: 'account'; accountId: string; role: AccountRole; factoryIds?: string[] } & (
  | { via: 'key'; keyId: string }
  | { via: 'person'; personId: string; email: string }
);
export type ProgrammerPrincipal = { kind: 'programmer'; accountId: string; programmerId: string; credentialId: string };
export type Principal = AccountPrincipal | ProgrammerPrincipal;

/** The caller a route of this access kind is handed once the chain has checked it. */
export type PrincipalFor<A extends Access> = A extends { kind: 'public' } ? undefined : A extends { kind: 'programmer' } ? ProgrammerPrincipal : AccountPrincipal;

/** The flat string map an API Gateway simple-response authorizer hands to the integration. */
export type AuthorizerContext = Record<string, string>;

/** Factory ids are `[A-Za-z0-9_-]`, so a comma can never be part of one. */
const FACTORY_ID_SEPARATOR = ',';

export function principalToContext(principal: Principal): AuthorizerContext {
  if (principal.kind === 'programmer') {
    return { kind: 'programmer', accountId: principal.accountId, programmerId: principal.programmerId, credentialId: principal.credentialId };
  }
  const scope: AuthorizerContext = principal.factoryIds ? { factoryIds: principal.factoryIds.join(FACTORY_ID_SEPARATOR) } : {};
  const who: AuthorizerContext = principal.via === 'key' ? { via: 'key', keyId: principal.keyId } : { via: 'person', personId: principal.personId, email: principal.email };
  return { kind: 'account', accountId: principal.accountId, role: principal.role, ...who, ...scope };
}

/** Returns undefined for anything that is not a complete context: such a request is refused. */
export function principalFromContext(context: Record<string, unknown> | undefined): Principal | undefined {
  if (!context) return undefined;
  const str = (key: string) => (typeof context[key] === 'string' && context[key] !== '' ? (context[key] as string) : undefined);
  const accountId = str('accountId');
  if (!accountId) return undefined;
  if (str('kind') === 'account') {
    const role = str('role');
    if (!isAccountRole(role)) return undefined;
    // Present but empty means "no factory at all", never "every factory": a scope can only narrow.
    const scope = typeof context.factoryIds === 'string' ? { factoryIds: context.factoryIds.split(FACTORY_ID_SEPARATOR).filter((id) => id !== '') } : {};
    const keyId = str('keyId');
    // Contexts cached before `via` existed named only the key.
    if ((str('via') ?? 'key') === 'key' && keyId) return { kind: 'account', accountId, role, via: 'key', keyId, ...scope };
    const personId = str('personId');
    const email = str('email');
    if (str('via') === 'person' && personId && email) return { kind: 'account', accountId, role, via: 'person', personId, email, ...scope };
    return undefined;
  }
  if (str('kind') === 'programmer') {
    const programmerId = str('programmerId');
    const credentialId = str('credentialId');
    if (programmerId && credentialId) return { kind: 'programmer', accountId, programmerId, credentialId };
  }
  return undefined;
}

function isAccountRole(role: string | undefined): role is AccountRole {
  return (ACCOUNT_ROLES as readonly string[]).includes(role ?? '');
}

/** The `who` of an audit record: `key:<keyId>`, `person:<personId>` or `programmer:<programmerId>`. */
export function actorOf(principal: Principal): string {
  if (principal.kind === 'programmer') return `programmer:${principal.programmerId}`;
  return principal.via === 'key' ? `key:${principal.keyId}` : `person:${principal.personId}`;
}

export { seesFactory } from '../domain/factory-scope.js';

/** `GET /v1/account`'s `caller`: who this is and what it may reach, for clients that offer only what it may do. */
export function callerOf(principal: AccountPrincipal): CallerType {
  const who = principal.via === 'key' ? { via: 'key' as const, keyId: principal.keyId } : { via: 'person' as const, personId: principal.personId, email: principal.email };
  return { ...who, role: principal.role, ...(principal.factoryIds ? { factoryIds: principal.factoryIds } : {}) };
}
