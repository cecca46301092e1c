import { createHash } from 'node:crypto';
import { type JSONWebKeySet, type JWTPayload, type JWTVerifyOptions, compactVerify, createLocalJWKSet, decodeProtectedHeader, errors, importJWK, jwtVerify } from 'jose';

export const TICKET_TYPE = 'flashline-ticket+jwt';
export const BINDING_TYPE = 'flashline-binding+jwt';
/** The `typ` of a session key's certificate (api.md v1.1). */
export const KEY_CERTIFICATE_TYPE = 'flashline-key+jwt';
const MAX_CERTIFICATE_SECONDS = 86_400;

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
        return await verifyJws(jws, typ, this.keySet);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey && !refreshed) continue;
        throw new VerificationError(`${typ === TICKET_TYPE ? 'ticket' : 'binding'} signature check failed: ${(error as Error).message}`);
      }
    }
  }
}

type KeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * api.md v1.1: a ticket may carry `crt`, a certificate by a JWKS root key of the session key
 * that signed it. Then the chain is followed: `crt` with the JWKS, its `sub` against the
 * ticket's `kid`, the ticket's `iat` inside the certificate's window, the ticket with `crt.jwk`.
 * Without `crt`, the JWS is checked against the JWKS directly (v1).
 */
export async function verifyJws(jws: string, typ: string, keySet: KeySet): Promise<JWTPayload> {
  const options: JWTVerifyOptions = { algorithms: ['ES256'], issuer: 'flashline', typ, clockTolerance: CLOCK_TOLERANCE_SECONDS };
  const { crt, kid } = decodeProtectedHeader(jws);
  if (crt === undefined) return (await jwtVerify(jws, keySet, options)).payload;
  // Session keys sign tickets only: a binding must come from the root key itself.
  if (typ !== TICKET_TYPE) throw new Error(`a ${typ} must be signed by a root key, not by a session key`);
  if (typeof crt !== 'string') throw new Error('crt is not a compact JWS');
  const certificate = await verifyKeyCertificate(crt, keySet);
  if (kid !== certificate.sub) throw new Error(`the ticket's kid ${JSON.stringify(kid)} is not the certified key ${certificate.sub}`);
  const { payload } = await jwtVerify(jws, await importJWK({ ...certificate.jwk }, 'ES256'), options);
  if (typeof payload.iat !== 'number' || payload.iat < certificate.iat || payload.iat > certificate.exp) {
    throw new Error(`the ticket's iat ${payload.iat} lies outside its key certificate [${certificate.iat}, ${certificate.exp}]`);
  }
  return payload;
}

interface KeyCertificate {
  sub: string;
  jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
  iat: number;
  exp: number;
}

/**
 * Signature, type and shape of a certificate. Its window is judged against the ticket's `iat`,
 * not against today's clock: a ticket may be checked offline after its certificate ended.
 */
async function verifyKeyCertificate(crt: string, keySet: KeySet): Promise<KeyCertificate> {
  const { payload, protectedHeader } = await compactVerify(crt, keySet, { algorithms: ['ES256'] });
  if (protectedHeader.typ !== KEY_CERTIFICATE_TYPE) throw new Error(`crt has typ ${JSON.stringify(protectedHeader.typ)}, not ${KEY_CERTIFICATE_TYPE}`);
  const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  const jwk = claims.jwk as Record<string, unknown> | undefined;
  const { iat, exp, sub } = claims;
  if (claims.iss !== 'flashline' || typeof sub !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') throw new Error('crt lacks iss, sub, iat or exp');
  if (jwk?.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string' || 'd' in jwk) throw new Error('crt.jwk is not a P-256 public key');
  if (exp <= iat || exp - iat > MAX_CERTIFICATE_SECONDS) throw new Error(`crt lives ${exp - iat} s; at most ${MAX_CERTIFICATE_SECONDS} s is allowed`);
  return { sub, iat, exp, jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } };
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
  /** The authorization's per-unit data (v1.1): the ticket's `ud` must be its digest. */
  unitData?: readonly { serial: string; fields: Record<string, string | string[]> }[];
}

/**
 * The `ud` a ticket must carry for this unit data (api.md): base64url SHA-256 of its JSON with
 * object keys sorted and no spaces. Computed here on its own, not with the cloud's code, so the
 * simulator checks the contract rather than agreeing with itself.
 */
export function expectedUnitDataDigest(unitData: readonly unknown[]): string {
  const sortedKeys = (_key: string, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value;
  return createHash('sha256').update(JSON.stringify(unitData, sortedKeys), 'utf8').digest('base64url');
}

function unitDataProblems(claims: JWTPayload, expected: ExpectedTicket): string[] {
  const unitData = expected.unitData;
  if (unitData === undefined) return claims.ud === undefined ? [] : ['the ticket signs unit data the authorization did not carry'];
  const problems: string[] = [];
  if (unitData.length !== expected.serials.length || unitData.some((unit, i) => unit.serial !== expected.serials[i])) {
    problems.push('unitData does not follow the order of serials');
  }
  if (claims.ud !== expectedUnitDataDigest(unitData)) problems.push(`ud ${JSON.stringify(claims.ud)} is not the digest of the unitData received`);
  return problems;
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
  problems.push(...unitDataProblems(claims, expected));
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
