import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { call } from './api.js';

/** Verifies a compact JWS the way a programmer does offline: with the published JWKS only. */
export async function verifyWithJwks(jws: string): Promise<JWTPayload> {
  const jwks = await call('GET', 'v1/signing-keys');
  const keySet = createLocalJWKSet(jwks.body);
  const { payload, protectedHeader } = await jwtVerify(jws, keySet, { algorithms: ['ES256'], issuer: 'flashline' });
  if (protectedHeader.alg !== 'ES256' || !protectedHeader.kid) throw new Error('unexpected JWS header');
  return payload;
}
