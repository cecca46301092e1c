import { JwtRsaVerifier } from 'aws-jwt-verify';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';

export interface PersonTokenSettings {
  issuer: string;
  jwksUrl: string;
  clientId: string;
}

/** Three base64url parts: worth a signature check. API keys and programmer tokens never look like this. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export type PersonTokenVerifier = (token: string) => Promise<string | undefined>;

/**
 * Verifies user pool access tokens (RS256 against the pool's JWKS, issuer, expiry, token_use
 * `access`, issued to the console's client) and answers the user's `sub`, or undefined for
 * anything else. Roles and factories are never read from the token: they live in our table.
 *
 * The JWKS is fetched with the runtime's fetch instead of aws-jwt-verify's https-only fetcher:
 * the emulator serves it over plain http (`PEOPLE_JWKS_URL`), AWS over https; keys are cached
 * per container and re-fetched when a token names an unknown kid (key rotation).
 */
export function personTokenVerifier(settings: PersonTokenSettings): PersonTokenVerifier {
  const jwksCache = new SimpleJwksCache({
    fetcher: {
      fetch: async (uri: string) => {
        const response = await fetch(uri, { signal: AbortSignal.timeout(3000) });
        if (!response.ok) throw new Error(`JWKS ${uri} answered HTTP ${response.status}`);
        return response.arrayBuffer();
      },
    },
  });
  const verifier = JwtRsaVerifier.create(
    {
      issuer: settings.issuer,
      jwksUri: settings.jwksUrl,
      // Cognito access tokens carry `client_id`, not `aud`: checked below instead.
      audience: null,
      customJwtCheck: ({ payload }) => {
        if (payload.token_use !== 'access') throw new Error('not an access token');
        if (payload.client_id !== settings.clientId) throw new Error('issued to another client');
      },
    },
    { jwksCache },
  );
  return async (token) => {
    if (!JWT_SHAPE.test(token)) return undefined;
    try {
      const payload = await verifier.verify(token);
      return typeof payload.sub === 'string' && payload.sub ? payload.sub : undefined;
    } catch {
      return undefined;
    }
  };
}
