import * as contract from '../../../shared/contract/index.js';
import { ConflictError } from '../../../shared/domain/errors.js';
import { implement } from '../../../shared/http/handler.js';
import { type AccountPrincipal, actorOf } from '../../../shared/http/principal.js';
import * as accounts from '../../../shared/store/accounts.js';
import { db } from '../deps.js';

function credentialsFile(endpoint: string, principal: AccountPrincipal, keyId: string, token: string, role: contract.CredentialsFileType['role']) {
  return { endpoint, accountId: principal.accountId, keyId, token, role };
}

/** The principal as the contract's `caller`: the console shows and offers by it. */
function callerOf(principal: AccountPrincipal): contract.CallerType {
  const scope = principal.factoryIds ? { factoryIds: principal.factoryIds } : {};
  return principal.via === 'key'
    ? { via: 'key', keyId: principal.keyId, role: principal.role, ...scope }
    : { via: 'person', personId: principal.personId, email: principal.email, role: principal.role, ...scope };
}

export const accountRoutes = [
  implement(contract.getAccount, async ({ principal }) => ({ account: await accounts.getAccount(db, principal.accountId), caller: callerOf(principal) })),

  implement(contract.createApiKey, async (request) => {
    const { principal, body } = request;
    const issued = await accounts.createApiKey(db, principal.accountId, body, actorOf(principal));
    return {
      keyId: issued.apiKey.keyId,
      apiKey: issued.apiKey,
      credentials: credentialsFile(request.baseUrl, principal, issued.apiKey.keyId, issued.token, issued.apiKey.role),
    };
  }),

  implement(contract.listApiKeys, async ({ principal, query }) => accounts.listApiKeys(db, principal.accountId, query)),

  implement(contract.revokeApiKey, async ({ principal, params }) => {
    // A key revoking itself would lock its holder out mid-session (and the last admin key, the
    // account: only the platform operator can issue another). Another admin key can revoke it.
    if (principal.via === 'key' && params.keyId === principal.keyId) throw new ConflictError('key_in_use', 'A key cannot revoke itself: revoke it with another admin key');
    return { apiKey: await accounts.revokeApiKey(db, principal.accountId, params.keyId, actorOf(principal)) };
  }),
];
