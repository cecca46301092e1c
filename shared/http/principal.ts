import type { Access, AccountRole } from '../contract/route.js';

/** Who is calling, as established by the authorizer. Every store call is scoped by `accountId`. */
export type Principal =
  | { kind: 'account'; accountId: string; keyId: string; role: AccountRole }
  | { kind: 'programmer'; accountId: string; programmerId: string; credentialId: string };

export type AccountPrincipal = Extract<Principal, { kind: 'account' }>;
export type ProgrammerPrincipal = Extract<Principal, { kind: 'programmer' }>;

/** The caller a route of this access kind is handed once the chain has checked it. */
export type PrincipalFor<A extends Access> = A extends { kind: 'public' } ? undefined : A extends { kind: 'programmer' } ? ProgrammerPrincipal : AccountPrincipal;

/** The flat string map an API Gateway simple-response authorizer hands to the integration. */
export type AuthorizerContext = Record<string, string>;

export function principalToContext(principal: Principal): AuthorizerContext {
  return principal.kind === 'account'
    ? { kind: 'account', accountId: principal.accountId, keyId: principal.keyId, role: principal.role }
    : { kind: 'programmer', accountId: principal.accountId, programmerId: principal.programmerId, credentialId: principal.credentialId };
}

/** Returns undefined for anything that is not a complete context: such a request is refused. */
export function principalFromContext(context: Record<string, unknown> | undefined): Principal | undefined {
  if (!context) return undefined;
  const str = (key: string) => (typeof context[key] === 'string' && context[key] !== '' ? (context[key] as string) : undefined);
  const accountId = str('accountId');
  if (!accountId) return undefined;
  if (str('kind') === 'account') {
    const keyId = str('keyId');
    const role = str('role');
    if (keyId && (role === 'admin' || role === 'author' || role === 'viewer')) return { kind: 'account', accountId, keyId, role };
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
  return principal.kind === 'account' ? `key:${principal.keyId}` : `programmer:${principal.programmerId}`;
}
