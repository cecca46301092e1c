import type { Access, AccountRole } from '../contract/route.js';

/**
 * Who is calling, as established by the authorizer. Every store call is scoped by `accountId`.
 * An account caller is an API key or a person signed in through the identity provider; both
 * carry the role and factories our own table gives them (never the token's claims).
 */
export type Principal =
  | ({ kind: 'account'; accountId: string; role: AccountRole; factoryIds?: string[] /* absent = every factory */ } & (
      | { via: 'key'; keyId: string }
      | { via: 'person'; personId: string; email: string }
    ))
  | { kind: 'programmer'; accountId: string; programmerId: string; credentialId: string };

export type AccountPrincipal = Extract<Principal, { kind: 'account' }>;
export type ProgrammerPrincipal = Extract<Principal, { kind: 'programmer' }>;

/** The caller a route of this access kind is handed once the chain has checked it. */
export type PrincipalFor<A extends Access> = A extends { kind: 'public' } ? undefined : A extends { kind: 'programmer' } ? ProgrammerPrincipal : AccountPrincipal;

/** The flat string map an API Gateway simple-response authorizer hands to the integration. */
export type AuthorizerContext = Record<string, string>;

const ACCOUNT_ROLES: readonly AccountRole[] = ['admin', 'author', 'operator', 'viewer'];

export function principalToContext(principal: Principal): AuthorizerContext {
  if (principal.kind === 'programmer') {
    return { kind: 'programmer', accountId: principal.accountId, programmerId: principal.programmerId, credentialId: principal.credentialId };
  }
  // The context is a flat string map: factories travel comma-joined, and absent means all of them.
  const scope: AuthorizerContext = principal.factoryIds ? { factoryIds: principal.factoryIds.join(',') } : {};
  const who: AuthorizerContext = principal.via === 'key' ? { via: 'key', keyId: principal.keyId } : { via: 'person', personId: principal.personId, email: principal.email };
  return { kind: 'account', accountId: principal.accountId, role: principal.role, ...scope, ...who };
}

/** Returns undefined for anything that is not a complete context: such a request is refused. */
export function principalFromContext(context: Record<string, unknown> | undefined): Principal | undefined {
  if (!context) return undefined;
  const str = (key: string) => (typeof context[key] === 'string' && context[key] !== '' ? (context[key] as string) : undefined);
  const accountId = str('accountId');
  if (!accountId) return undefined;
  if (str('kind') === 'account') {
    const role = str('role') as AccountRole | undefined;
    if (!role || !ACCOUNT_ROLES.includes(role)) return undefined;
    // An empty string is a scope of no factory at all, not "every factory".
    const factoryIds = typeof context.factoryIds === 'string' ? context.factoryIds.split(',').filter(Boolean) : undefined;
    const base = { kind: 'account' as const, accountId, role, ...(factoryIds ? { factoryIds } : {}) };
    const keyId = str('keyId');
    if (str('via') !== 'person' && keyId) return { ...base, via: 'key', keyId };
    const personId = str('personId');
    const email = str('email');
    if (str('via') === 'person' && personId && email) return { ...base, via: 'person', personId, email };
  }
  if (str('kind') === 'programmer') {
    const programmerId = str('programmerId');
    const credentialId = str('credentialId');
    if (programmerId && credentialId) return { kind: 'programmer', accountId, programmerId, credentialId };
  }
  return undefined;
}

/** The `who` of an audit record. */
export function actorOf(principal: Principal): string {
  if (principal.kind === 'programmer') return `programmer:${principal.programmerId}`;
  return principal.via === 'key' ? `key:${principal.keyId}` : `person:${principal.personId}`;
}
