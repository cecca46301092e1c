import { parseToken, secretMatches } from '../../shared/domain/tokens.js';
import type { Principal } from '../../shared/http/principal.js';
import { getCredential } from '../../shared/store/accounts.js';
import type { Db } from '../../shared/store/db.js';

/** Resolves a bearer token to a principal, or undefined for anything unknown, revoked or malformed. */
export async function authenticate(db: Db, token: string): Promise<Principal | undefined> {
  const parsed = parseToken(token);
  if (!parsed) return undefined;
  const credential = await getCredential(db, parsed.kind, parsed.accountId, parsed.credentialId);
  if (!credential || !secretMatches(parsed.secret, credential.secretHash)) return undefined;
  if (parsed.kind === 'key') {
    if (credential.status !== 'active' || !credential.role) return undefined;
    const scope = credential.factoryIds ? { factoryIds: credential.factoryIds } : {};
    return { kind: 'account', accountId: parsed.accountId, role: credential.role, via: 'key', keyId: parsed.credentialId, ...scope };
  }
  // A disabled programmer still authenticates: the device API refuses it with `programmer_disabled`.
  return { kind: 'programmer', accountId: parsed.accountId, programmerId: parsed.credentialId, credentialId: parsed.credentialId };
}
