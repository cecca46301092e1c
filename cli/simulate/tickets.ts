import { type JSONWebKeySet, type JWTPayload, createLocalJWKSet, errors, jwtVerify } from 'jose';

export const TICKET_TYPE = 'flashline-ticket+jwt';
export const BINDING_TYPE = 'flashline-binding+jwt';

/** Clock skew we tolerate between this machine and the cloud when checking `exp`. */
const CLOCK_TOLERANCE_SECONDS = 30;

export class VerificationError extends Error {
  override readonly name = 'VerificationError';
}

/**
 * Verifies JWS the way a programmer does offline: with the published JWKS only. The JWKS is
 * fetched once and again only when a token names a key it does not hold (key rotation).
 */
export class JwsVerifier {
  private keySet: ReturnType<typeof createLocalJWKSet> | undefined;

  constructor(private readonly fetchJwks: () => Promise<JSONWebKeySet>) {}

  async verify(jws: string, typ: string): Promise<JWTPayload> {
    for (let refreshed = false; ; refreshed = true) {
      if (!this.keySet || refreshed) this.keySet = createLocalJWKSet(await this.fetchJwks());
      try {
        const { payload } = await jwtVerify(jws, this.keySet, { algorithms: ['ES256'], issuer: 'flashline', typ, clockTolerance: CLOCK_TOLERANCE_SECONDS });
        return payload;
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey && !refreshed) continue;
        throw new VerificationError(`${typ === TICKET_TYPE ? 'ticket' : 'binding'} signature check failed: ${(error as Error).message}`);
      }
    }
  }
}

export interface ExpectedTicket {
  programmerId: string;
  accountId: string;
  jobId: string;
  imageId: string;
  nonce: string;
  authorizationId: string;
  units: number;
  serials: readonly string[];
  expiresAt: string;
}

/** Every claim the contract names must say what the authorization said: else do not program. */
export function ticketClaimProblems(claims: JWTPayload, expected: ExpectedTicket, now = Date.now()): string[] {
  const problems: string[] = [];
  const same = (claim: string, actual: unknown, wanted: unknown) => {
    if (actual !== wanted) problems.push(`${claim} is ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`);
  };
  same('sub', claims.sub, expected.programmerId);
  same('acct', claims.acct, expected.accountId);
  same('job', claims.job, expected.jobId);
  same('img', claims.img, expected.imageId);
  same('nonce', claims.nonce, expected.nonce);
  same('jti', claims.jti, expected.authorizationId);
  same('units', claims.units, expected.units);
  const serials = claims.serials;
  if (!Array.isArray(serials) || serials.length !== expected.serials.length || serials.some((serial, i) => serial !== expected.serials[i])) {
    problems.push('serials differ from the authorization');
  }
  if (new Set(expected.serials).size !== expected.serials.length) problems.push('the authorization repeats a serial');
  if (expected.serials.length !== expected.units) problems.push(`${expected.serials.length} serials for ${expected.units} units`);
  if (typeof claims.exp !== 'number') problems.push('exp is missing');
  else {
    if (claims.exp * 1000 < now - CLOCK_TOLERANCE_SECONDS * 1000) problems.push('the ticket has expired');
    if (Math.abs(claims.exp * 1000 - Date.parse(expected.expiresAt)) > 1000) problems.push(`exp ${claims.exp} disagrees with expiresAt ${expected.expiresAt}`);
  }
  return problems;
}

export interface ExpectedBinding {
  accountId: string;
  factoryId: string;
  jobId: string;
  imageId: string;
  sha256: string;
}

export function bindingClaimProblems(claims: JWTPayload, expected: ExpectedBinding): string[] {
  const problems: string[] = [];
  for (const [claim, wanted] of [
    ['acct', expected.accountId],
    ['fac', expected.factoryId],
    ['job', expected.jobId],
    ['img', expected.imageId],
    ['sha256', expected.sha256],
  ] as const) {
    if (claims[claim] !== wanted) problems.push(`${claim} is ${JSON.stringify(claims[claim])}, expected ${JSON.stringify(wanted)}`);
  }
  return problems;
}
