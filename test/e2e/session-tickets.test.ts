import { randomUUID } from 'node:crypto';
import { type JSONWebKeySet, compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createAccount, uniqueName } from '../support/api.js';
import { verifyWithJwks } from '../support/jwks.js';

/**
 * api.md v1.1 on the deployed stack: tickets are signed by the device function's session key,
 * certified by the KMS ticket root key; a programmer verifies them with `GET /v1/signing-keys`
 * alone, following the chain step by step with jose here (and through the simulator's verifier).
 */
describe('tickets signed by certified session keys', () => {
  let admin: string;
  let programmer: { token: string; programmerId: string };
  let jobId: string;
  let binding: string;
  let jwks: JSONWebKeySet;

  beforeAll(async () => {
    const credentials = await createAccount(uniqueName('Session tickets'));
    admin = credentials.token;
    const account = await call('GET', 'v1/account', { token: admin });
    const factoryId = account.body.account.defaultFactoryId;
    const provisioned = await call('POST', 'v1/programmers', { token: admin, body: { name: 'Gang 1', hardwareSerial: randomUUID(), factoryId } });
    expect(provisioned.status).toBe(201);
    programmer = { token: provisioned.body.credentials.token, programmerId: provisioned.body.programmer.programmerId };
    const image = await call('POST', 'v1/images', {
      token: admin,
      body: { name: 'Session', factoryId, contentSha256: 'e'.repeat(64), sizeBytes: 100, delivery: 'direct', serials: { start: 1, format: 'ST-{n:04}' } },
    });
    expect(image.status).toBe(201);
    jobId = image.body.job.jobId;
    binding = image.body.binding;
    const keys = await call('GET', 'v1/signing-keys');
    expect(keys.status).toBe(200);
    jwks = keys.body;
  });

  const authorize = async (units: number, nonce = randomUUID(), withBinding = false) => {
    const response = await call('POST', 'v1/device/authorizations', { token: programmer.token, body: { jobId, units, nonce, ...(withBinding && { binding }) } });
    expect(response.status, JSON.stringify(response.body)).toBeLessThan(300);
    return response.body as { authorizationId: string; units: number; serials: string[]; ticket: string };
  };

  it('publishes two root keys: one signs bindings, the other certifies session keys', async () => {
    expect(jwks.keys).toHaveLength(2);
    const kids = jwks.keys.map((key) => key.kid);
    expect(new Set(kids).size).toBe(2);
    const bindingKid = decodeProtectedHeader(binding).kid;
    expect(kids).toContain(bindingKid);
    // Bindings stay signed by the root key directly.
    expect(decodeProtectedHeader(binding).crt).toBeUndefined();
    expect(await verifyWithJwks(binding)).toMatchObject({ iss: 'flashline', job: jobId });

    const { ticket } = await authorize(1, randomUUID(), true);
    const crtKid = decodeProtectedHeader(decodeProtectedHeader(ticket).crt as string).kid;
    expect(kids).toContain(crtKid);
    expect(crtKid).not.toBe(bindingKid);
  });

  it('issues tickets that verify, step by step with jose, against GET /v1/signing-keys alone', async () => {
    const sequential = [];
    for (let i = 0; i < 8; i += 1) sequential.push(await authorize((i % 3) + 1));
    const concurrent = await Promise.all(Array.from({ length: 6 }, () => authorize(2)));
    const grants = [...sequential, ...concurrent];
    const roots = createLocalJWKSet(jwks);
    const sessionKids = new Set<string>();

    for (const grant of grants) {
      const header = decodeProtectedHeader(grant.ticket);
      expect(header).toMatchObject({ alg: 'ES256', typ: 'flashline-ticket+jwt' });
      expect(typeof header.crt).toBe('string');
      // 1. The certificate verifies with the JWKS key its kid names.
      const certificate = await compactVerify(header.crt as string, roots, { algorithms: ['ES256'] });
      expect(certificate.protectedHeader.typ).toBe('flashline-key+jwt');
      const crt = JSON.parse(new TextDecoder().decode(certificate.payload));
      expect(crt).toMatchObject({ iss: 'flashline', jwk: { kty: 'EC', crv: 'P-256' } });
      expect(crt.jwk.d).toBeUndefined();
      expect(crt.exp - crt.iat).toBeLessThanOrEqual(86_400);
      // 2. It certifies the key the ticket names, 3. at the time the ticket was issued,
      expect(crt.sub).toBe(header.kid);
      const claims = decodeJwt(grant.ticket);
      expect(crt.iat).toBeLessThanOrEqual(claims.iat!);
      expect(claims.iat!).toBeLessThanOrEqual(crt.exp);
      // 4. and that key signed the ticket.
      const ticket = await compactVerify(grant.ticket, await importJWK(crt.jwk, 'ES256'), { algorithms: ['ES256'] });
      expect(JSON.parse(new TextDecoder().decode(ticket.payload))).toMatchObject({
        iss: 'flashline',
        sub: programmer.programmerId,
        job: jobId,
        units: grant.units,
        serials: grant.serials,
        jti: grant.authorizationId,
      });
      // The simulator's verifier reaches the same verdict.
      expect(await verifyWithJwks(grant.ticket)).toMatchObject({ jti: grant.authorizationId });
      sessionKids.add(String(header.kid));
    }
    // One session key per device container, not one per ticket. Alone, one warm container serves
    // every sequential call; other test files running beside this one may hold it busy now and
    // then (the emulator leases the first idle container), hence "at most half".
    expect(new Set(sequential.map((grant) => decodeProtectedHeader(grant.ticket).kid)).size).toBeLessThanOrEqual(sequential.length / 2);
    expect(sessionKids.size).toBeLessThanOrEqual(1 + concurrent.length);
  });

  it('returns the stored ticket for a retried nonce, still verifiable', async () => {
    const nonce = randomUUID();
    const first = await authorize(1, nonce);
    const again = await authorize(1, nonce);
    expect(again.ticket).toBe(first.ticket);
    expect(await verifyWithJwks(again.ticket)).toMatchObject({ nonce, jti: first.authorizationId });
  });

  it('refuses a ticket whose payload was changed', async () => {
    const { ticket } = await authorize(1);
    const [header, payload, signature] = ticket.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, units: 1000 })).toString('base64url')}.${signature}`;
    await expect(verifyWithJwks(forged)).rejects.toThrow(/signature/);
  });
});
