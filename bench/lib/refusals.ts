import * as contract from '../../shared/contract/index.js';
import { measuring, setAccountRateLimit } from './fixtures.js';

/** One refusal as a client sees it: status, body and the Retry-After header if any. */
export interface Refusal {
  status: number;
  body: unknown;
  retryAfter: string | null;
}

/**
 * The refusals clients meet, read off the deployed API with plain fetch (docs/api-gateway.md
 * compares them across flavours): 401 without an Authorization header (API Gateway answers it
 * before the authorizer runs), 401 with an unknown token, 403 for a role too low, 429 from the
 * account's rate limit.
 */
export interface RefusalsResult {
  missingHeader: Refusal;
  unknownToken: Refusal;
  roleTooLow: Refusal;
  throttled: Refusal | { notSeen: string };
}

async function raw(url: string, token?: string, method = 'GET'): Promise<Refusal> {
  const response = await fetch(url, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the text itself is the finding.
  }
  return { status: response.status, body, retryAfter: response.headers.get('retry-after') };
}

/** The account's limit is read within one lease of the containers: ask until it bites, at most this often. */
const THROTTLE_ATTEMPTS = 60;

export async function measureRefusals(admin: contract.CredentialsFileType): Promise<RefusalsResult> {
  const account = new URL('v1/account', admin.endpoint).toString();
  const missingHeader = await raw(account);
  const unknownToken = await raw(account, 'flk.acc_nobody.key_nobody.not-a-secret-at-all-0000000000');
  const viewer = (await measuring(admin).call(contract.createApiKey, { body: { name: 'bench viewer', role: 'viewer' } })).credentials;
  const roleTooLow = await raw(new URL('v1/factories', admin.endpoint).toString(), viewer.token, 'POST');
  await setAccountRateLimit(admin.accountId, 'management', { ratePerSecond: 1, burst: 1 });
  let throttled: Refusal | { notSeen: string } = { notSeen: `no 429 in ${THROTTLE_ATTEMPTS} requests` };
  for (let i = 0; i < THROTTLE_ATTEMPTS; i += 1) {
    const answer = await raw(account, viewer.token);
    if (answer.status === 429) {
      throttled = answer;
      break;
    }
  }
  return { missingHeader, unknownToken, roleTooLow, throttled };
}

export function renderRefusals(flavour: string, result: RefusalsResult): string {
  const line = (what: string, refusal: Refusal | { notSeen: string }) =>
    'notSeen' in refusal ? `  ${what}: ${refusal.notSeen}` : `  ${what}: ${refusal.status} ${JSON.stringify(refusal.body)}${refusal.retryAfter ? ` (Retry-After ${refusal.retryAfter})` : ''}`;
  return [`Refusals (${flavour})`, line('no Authorization header', result.missingHeader), line('unknown token', result.unknownToken), line('role too low', result.roleTooLow), line('rate limit', result.throttled)].join('\n');
}
