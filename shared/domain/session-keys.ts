import { createHash } from 'node:crypto';

/**
 * Session-key tickets (api.md v1.1, "Tickets signed by certified session keys"), pure: the
 * shapes of the key certificate (`crt`) and of the ticket header that carries it. Who signs
 * (KMS for the certificate, an in-memory key for the ticket) is shared/store's business.
 */
export const TICKET_TYPE = 'flashline-ticket+jwt';
export const KEY_CERTIFICATE_TYPE = 'flashline-key+jwt';

/** The contract's ceiling on a certificate's life: `exp − iat ≤ 86400`. */
export const MAX_CERTIFICATE_SECONDS = 24 * 60 * 60;

export interface EcPublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

export interface KeyCertificateClaims {
  iss: 'flashline';
  sub: string;
  jwk: EcPublicJwk;
  iat: number;
  exp: number;
}

export interface TicketHeader {
  alg: 'ES256';
  typ: typeof TICKET_TYPE;
  kid: string;
  crt: string;
}

/**
 * The session kid is the key's RFC 7638 thumbprint: it names exactly one key, cannot collide
 * with a KMS key id of the JWKS, and needs no randomness or registry.
 */
export function sessionKid(jwk: EcPublicJwk): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return `ses_${createHash('sha256').update(canonical, 'utf8').digest('base64url')}`;
}

/**
 * What the root key certifies. `notBeforeSlackSeconds` backdates `iat`: a ticket's `iat` is the
 * moment the authorization was decided, which may come just before the certification that the
 * same request triggered finished (the verifier demands `crt.iat ≤ ticket.iat`).
 */
export function keyCertificateClaims(jwk: EcPublicJwk, nowSeconds: number, lifetimeSeconds: number, notBeforeSlackSeconds: number): KeyCertificateClaims {
  const iat = nowSeconds - notBeforeSlackSeconds;
  const exp = iat + lifetimeSeconds;
  if (lifetimeSeconds <= 0 || exp - iat > MAX_CERTIFICATE_SECONDS) {
    throw new RangeError(`A key certificate lives at most ${MAX_CERTIFICATE_SECONDS} s, not ${lifetimeSeconds} s`);
  }
  return { iss: 'flashline', sub: sessionKid(jwk), jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, iat, exp };
}

/** Whether a certificate may sign a ticket issued at `iat` (the verifier's rule, applied by the signer first). */
export function certificateCovers(claims: Pick<KeyCertificateClaims, 'iat' | 'exp'>, ticketIat: number): boolean {
  return claims.iat <= ticketIat && ticketIat <= claims.exp;
}

export function ticketHeader(certificate: KeyCertificateClaims, crt: string): TicketHeader {
  return { alg: 'ES256', typ: TICKET_TYPE, kid: certificate.sub, crt };
}
