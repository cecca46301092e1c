import { createHash, randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { personTokenVerifier } from '../../functions/authorizer/person-tokens.js';
import { pkceChallenge, refreshDelayMs } from '../../console/src/session.js';
import { type Principal, actorOf, principalFromContext, principalToContext } from '../../shared/http/principal.js';
import { newTemporaryPassword } from '../../shared/store/user-pool.js';

describe('the person principal', () => {
  const person: Principal = { kind: 'account', accountId: 'acc_1', role: 'operator', factoryIds: ['fac_a', 'fac_b'], via: 'person', personId: 'per_1', email: 'ana@example.com' };

  it('travels through the flat authorizer context and back, factories comma-joined', () => {
    const context = principalToContext(person);
    expect(context.factoryIds).toBe('fac_a,fac_b');
    expect(principalFromContext(context)).toEqual(person);
  });

  it('keeps "every factory" (absent) apart from "no factory" (empty)', () => {
    const { factoryIds: _all, ...everywhere } = person;
    expect(principalFromContext(principalToContext(everywhere as Principal))).toEqual(everywhere);
    expect(principalFromContext({ ...principalToContext(person), factoryIds: '' })).toMatchObject({ factoryIds: [] });
  });

  it('refuses a person context without its id or email', () => {
    const context = principalToContext(person);
    expect(principalFromContext({ ...context, personId: '' })).toBeUndefined();
    expect(principalFromContext({ ...context, email: undefined })).toBeUndefined();
  });

  it('names the person in audit records', () => {
    expect(actorOf(person)).toBe('person:per_1');
    expect(actorOf({ kind: 'account', accountId: 'acc_1', role: 'admin', via: 'key', keyId: 'key_1' })).toBe('key:key_1');
  });
});

describe('temporary passwords (local stack only)', () => {
  it('meet the pool policy: 16 characters with upper, lower, digit and symbol, never twice the same', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const password = newTemporaryPassword();
      expect(password).toHaveLength(16);
      for (const pattern of [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/]) expect(password).toMatch(pattern);
      seen.add(password);
    }
    expect(seen.size).toBe(200);
  });
});

describe('console sign-in helpers', () => {
  it("derives the S256 challenge (RFC 7636: base64url of SHA-256, no padding) as Node's own hash does", async () => {
    for (const verifier of ['dBjftJeZ4CVP-mJ92K9qkiGDOIgzKvMiqrkE5sw4jpg', randomBytes(32).toString('base64url')]) {
      const challenge = await pkceChallenge(verifier);
      expect(challenge).toBe(createHash('sha256').update(verifier).digest('base64url'));
      expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });

  it('refreshes a minute before the access token ends, at once when that is past', () => {
    const session = { via: 'person' as const, token: 't', refreshToken: 'r', expiresAt: 1_000_000 };
    expect(refreshDelayMs(session, 1_000_000 - 3_600_000)).toBe(3_540_000);
    expect(refreshDelayMs(session, 1_000_000 - 30_000)).toBe(0);
  });
});

describe('personTokenVerifier (access tokens of the user pool, JWKS over plain http as on the emulator)', () => {
  const ISSUER = 'https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_pool';
  const CLIENT = 'console-client';
  let server: Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;
  let strangerKey: CryptoKey;
  let requests = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey as CryptoKey;
    strangerKey = (await generateKeyPair('RS256')).privateKey as CryptoKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((_request, response) => {
      requests++;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/eu-central-1_pool/.well-known/jwks.json`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const token = (claims: Record<string, unknown>, key: CryptoKey = privateKey, expiresIn: string | number = '1h') =>
    new SignJWT({ token_use: 'access', client_id: CLIENT, ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setSubject('sub-1').setIssuedAt().setExpirationTime(expiresIn).sign(key);

  it("answers the sub of a valid access token issued to the console's client, fetching the keys once", async () => {
    const verify = personTokenVerifier({ issuer: ISSUER, jwksUrl, clientId: CLIENT });
    expect(await verify(await token({}))).toBe('sub-1');
    expect(await verify(await token({}))).toBe('sub-1');
    expect(requests).toBe(1);
  });

  it('refuses ID tokens, other clients, other issuers, expired tokens, other keys and non-JWTs', async () => {
    const verify = personTokenVerifier({ issuer: ISSUER, jwksUrl, clientId: CLIENT });
    const refused = [
      await token({ token_use: 'id' }),
      await token({ client_id: 'another-client' }),
      await new SignJWT({ token_use: 'access', client_id: CLIENT }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(`${ISSUER}x`).setSubject('sub-1').setExpirationTime('1h').sign(privateKey),
      await token({}, privateKey, Math.floor(Date.now() / 1000) - 3600),
      await token({}, strangerKey),
      'flk.acc_1.key_1.not-a-jwt',
    ];
    for (const candidate of refused) expect(await verify(candidate)).toBeUndefined();
  });
});
