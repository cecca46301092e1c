import { parseToken, secretMatches } from '../../shared/domain/tokens.js';
import type { Principal } from '../../shared/http/principal.js';
import { getCredential } from '../../shared/store/accounts.js';
import type { Db } from '../../shared/store/db.js';
import { findSignedInPerson } from '../../shared/store/people.js';
import type { PersonTokenVerifier } from './person-tokens.js';

/**
 * Resolves a bearer token to a principal, or undefined for anything unknown, revoked or
 * malformed. API keys and programmer tokens are ours; anything else may be a person's access
 * token from the user pool (when the deployment has one).
 */
export async function authenticate(db: Db, token: string, verifyPersonToken?: PersonTokenVerifier): Promise<Principal | undefined> {
  const parsed = parseToken(token);
  if (!parsed) return verifyPersonToken ? authenticatePerson(db, token, verifyPersonToken) : undefined;
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

/** A verified token of someone we have no active person for (removed, disabled, never invited) is nobody. */
async function authenticatePerson(db: Db, token: string, verify: PersonTokenVerifier): Promise<Principal | undefined> {
  const subject = await verify(token);
  if (!subject) return undefined;
  const person = await findSignedInPerson(db, subject);
  if (!person) return undefined;
  const { accountId, role, factoryIds, personId, email } = person;
  return { kind: 'account', accountId, role, ...(factoryIds ? { factoryIds } : {}), via: 'person', personId, email };
}
