import { type JSONWebKeySet, type JWTPayload, decodeProtectedHeader } from 'jose';
import { JwsVerifier } from '../../cli/simulate/tickets.js';
import { call } from './api.js';

/**
 * Verifies a compact JWS the way a programmer does offline: with the published JWKS only, through
 * the simulator's verifier (which follows a ticket's session-key certificate to a root key).
 */
export async function verifyWithJwks(jws: string): Promise<JWTPayload> {
  const jwks = await call('GET', 'v1/signing-keys');
  const { alg, kid, typ } = decodeProtectedHeader(jws);
  if (alg !== 'ES256' || !kid || typeof typ !== 'string') throw new Error('unexpected JWS header');
  return new JwsVerifier(async () => jwks.body as JSONWebKeySet).verify(jws, typ);
}
