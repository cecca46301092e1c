import { type KeyObject, createSign, generateKeyPairSync } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { type JWK, SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JwsVerifier, VerificationError, verifyJws } from '../../cli/simulate/tickets.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';
import { SessionTicketSigner } from '../../shared/store/ticket-signer.js';

/**
 * KMS is mocked with a real P-256 root key held by the test (Sign answers DER as KMS does), so
 * every ticket must verify with jose against a JWKS that holds nothing but that root key.
 */
const ROOT_KID = '7f0c1d2e-ticket-root';
const kms = mockClient(KMSClient);
const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rootJwk = { ...(root.publicKey.export({ format: 'jwk' }) as JWK), kid: ROOT_KID, alg: 'ES256', use: 'sig' };
const jwks = { keys: [rootJwk] };
const keySet = createLocalJWKSet(jwks);

const HOUR_MS = 3_600_000;
const T0 = Date.now();

const signWithRoot = (input: { KeyId?: string; Message?: Uint8Array }) => {
  expect(input.KeyId).toBe(ROOT_KID);
  return { Signature: createSign('SHA256').update(Buffer.from(input.Message!)).sign({ key: root.privateKey, dsaEncoding: 'der' }) };
};
const throttled = () => Object.assign(new Error('slow down'), { name: 'ThrottlingException' });

function kmsSigns(): void {
  kms.on(SignCommand).callsFake(signWithRoot);
}

/** A container's signer on a clock the test moves. */
function newContainer(clock = { now: T0 }) {
  const tickets = new SessionTicketSigner(new KmsJwsSigner(new KMSClient({ region: 'us-east-1' }), ROOT_KID), { now: () => clock.now });
  return { tickets, clock };
}

const claimsAt = (ms: number, extra: Record<string, unknown> = {}) => {
  const iat = Math.floor(ms / 1000);
  return { iss: 'flashline', sub: 'prg_1', acct: 'acc_1', job: 'job_1', units: 1, serials: ['SN-1'], nonce: 'n', iat, exp: iat + 600, jti: 'auth_1', ...extra };
};

const crtOf = (ticket: string) => decodeProtectedHeader(ticket).crt as string;
const kmsSignCount = () => kms.commandCalls(SignCommand).length;

describe('SessionTicketSigner', () => {
  beforeEach(() => {
    kms.reset();
    kmsSigns();
  });
  afterEach(() => kms.reset());

  it('signs tickets that jose verifies against a JWKS holding only the root key, through the certificate chain', async () => {
    const { tickets } = newContainer();
    const ticket = await tickets.signTicket(claimsAt(T0));

    const header = decodeProtectedHeader(ticket);
    expect(Object.keys(header).sort()).toEqual(['alg', 'crt', 'kid', 'typ']);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'flashline-ticket+jwt' });
    expect(decodeProtectedHeader(crtOf(ticket))).toEqual({ alg: 'ES256', typ: 'flashline-key+jwt', kid: ROOT_KID });
    const certificate = decodeJwt(crtOf(ticket));
    expect(certificate).toMatchObject({ iss: 'flashline', sub: header.kid, jwk: { kty: 'EC', crv: 'P-256' } });
    expect(Object.keys(certificate.jwk as object).sort()).toEqual(['crv', 'kty', 'x', 'y']); // the public half only
    expect(certificate.exp! - certificate.iat!).toBeLessThanOrEqual(86_400);
    expect(certificate.iat).toBeLessThanOrEqual(Math.floor(T0 / 1000));

    expect(await verifyJws(ticket, 'flashline-ticket+jwt', keySet)).toEqual(claimsAt(T0));
    expect(await new JwsVerifier(async () => jwks).verify(ticket, 'flashline-ticket+jwt')).toMatchObject({ sub: 'prg_1', jti: 'auth_1' });
    // The root key id names itself: no GetPublicKey before the first certificate.
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(0);
  });

  it('calls KMS once per container, not once per ticket', async () => {
    const { tickets, clock } = newContainer();
    const kids = new Set<string>();
    for (let i = 0; i < 1000; i += 1) {
      clock.now = T0 + i * 1000;
      const ticket = await tickets.signTicket(claimsAt(clock.now, { jti: `auth_${i}` }));
      kids.add(String(decodeProtectedHeader(ticket).kid));
      if (i % 100 === 0) await verifyJws(ticket, 'flashline-ticket+jwt', keySet);
    }
    expect(kids.size).toBe(1);
    expect(kmsSignCount()).toBe(1);
  });

  it('shares one certification among concurrent first calls', async () => {
    const { tickets } = newContainer();
    const issued = await Promise.all(Array.from({ length: 25 }, (_, i) => tickets.signTicket(claimsAt(T0, { jti: `auth_${i}` }))));
    expect(kmsSignCount()).toBe(1);
    expect(new Set(issued.map((ticket) => decodeProtectedHeader(ticket).kid)).size).toBe(1);
    for (const ticket of issued) await verifyJws(ticket, 'flashline-ticket+jwt', keySet);
  });

  it('makes a new session key after 12 hours, signing with the old one until the new one is certified', async () => {
    const { tickets, clock } = newContainer();
    const first = decodeProtectedHeader(await tickets.signTicket(claimsAt(T0))).kid;

    clock.now = T0 + 12 * HOUR_MS - 1000;
    expect(decodeProtectedHeader(await tickets.signTicket(claimsAt(clock.now))).kid).toBe(first);
    expect(kmsSignCount()).toBe(1);

    clock.now = T0 + 12 * HOUR_MS + 1000;
    // The renewal runs in the background: this request does not wait for KMS.
    const during = await Promise.all([tickets.signTicket(claimsAt(clock.now)), tickets.signTicket(claimsAt(clock.now))]);
    expect(during.map((ticket) => decodeProtectedHeader(ticket).kid)).toEqual([first, first]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const renewed = await tickets.signTicket(claimsAt(clock.now));
    const second = decodeProtectedHeader(renewed).kid;
    expect(second).not.toBe(first);
    expect(kmsSignCount()).toBe(2);
    for (const ticket of [...during, renewed]) await verifyJws(ticket, 'flashline-ticket+jwt', keySet);
  });

  it('waits for a new certificate when the old one is about to end (a container frozen for a day)', async () => {
    const { tickets, clock } = newContainer();
    const first = decodeProtectedHeader(await tickets.signTicket(claimsAt(T0))).kid;
    clock.now = T0 + 24 * HOUR_MS;
    const ticket = await tickets.signTicket(claimsAt(clock.now));
    expect(decodeProtectedHeader(ticket).kid).not.toBe(first);
    await verifyJws(ticket, 'flashline-ticket+jwt', keySet);
  });

  it('fails the request when the first certification fails, and certifies again on the next', async () => {
    kms.reset();
    kms.on(SignCommand).rejectsOnce(throttled()).callsFake(signWithRoot);
    const { tickets } = newContainer();
    await expect(tickets.signTicket(claimsAt(T0))).rejects.toMatchObject({ name: 'ThrottlingException' });
    await verifyJws(await tickets.signTicket(claimsAt(T0)), 'flashline-ticket+jwt', keySet);
  });

  it('keeps signing with the old key when a renewal fails, and asks KMS again 30 s later', async () => {
    const { tickets, clock } = newContainer();
    const first = decodeProtectedHeader(await tickets.signTicket(claimsAt(T0))).kid;
    kms.on(SignCommand).rejects(throttled());
    clock.now = T0 + 13 * HOUR_MS;
    expect(decodeProtectedHeader(await tickets.signTicket(claimsAt(clock.now))).kid).toBe(first);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(decodeProtectedHeader(await tickets.signTicket(claimsAt(clock.now))).kid).toBe(first);
    expect(kmsSignCount()).toBe(2); // no retry storm: one failed renewal within the back-off
    kms.reset();
    kmsSigns();
    clock.now += 31_000;
    await tickets.signTicket(claimsAt(clock.now));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(decodeProtectedHeader(await tickets.signTicket(claimsAt(clock.now))).kid).not.toBe(first);
  });

  it('refuses to sign a ticket its certificate would not cover', async () => {
    const { tickets } = newContainer();
    await expect(tickets.signTicket(claimsAt(T0 - HOUR_MS))).rejects.toThrow(/outside the session certificate/);
  });
});

/** Certificates and tickets made by hand, to show what the verifier refuses. */
describe('the ticket verifier (cli/simulate/tickets.ts)', () => {
  const session = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const nowSeconds = Math.floor(T0 / 1000);
  const publicJwk = async (key: KeyObject) => {
    const { kty, crv, x, y } = await exportJWK(key);
    return { kty, crv, x, y };
  };

  async function certificate(overrides: { key?: KeyObject; kid?: string; typ?: string; claims?: Record<string, unknown> } = {}): Promise<string> {
    const claims = { iss: 'flashline', sub: 'ses_test', jwk: await publicJwk(session.publicKey), iat: nowSeconds - 60, exp: nowSeconds - 60 + 86_400, ...overrides.claims };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: overrides.typ ?? 'flashline-key+jwt', kid: overrides.kid ?? ROOT_KID })
      .sign(overrides.key ?? root.privateKey);
  }

  async function ticket(crt: string, overrides: { kid?: string; iat?: number; typ?: string; key?: KeyObject } = {}): Promise<string> {
    const iat = overrides.iat ?? nowSeconds;
    return new SignJWT(claimsAt(iat * 1000))
      .setProtectedHeader({ alg: 'ES256', typ: overrides.typ ?? 'flashline-ticket+jwt', kid: overrides.kid ?? 'ses_test', crt } as never)
      .sign(overrides.key ?? session.privateKey);
  }

  const refused = (jws: string, typ = 'flashline-ticket+jwt') => new JwsVerifier(async () => jwks).verify(jws, typ);

  it('accepts a well-formed chain made outside the signer (the format is the contract, not our code)', async () => {
    expect(await refused(await ticket(await certificate()))).toMatchObject({ sub: 'prg_1' });
  });

  it('refuses a certificate not signed by a JWKS key, or altered after signing', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expect(refused(await ticket(await certificate({ key: stranger.privateKey })))).rejects.toBeInstanceOf(VerificationError);
    await expect(refused(await ticket(await certificate({ key: stranger.privateKey, kid: 'unknown-kid' })))).rejects.toThrow(/signature check failed/);
    // Swap in an attacker's key under the root's signature.
    const genuine = await certificate();
    const [header, , signature] = genuine.split('.');
    const forgedClaims = { ...decodeJwt(genuine), jwk: await publicJwk(stranger.publicKey) };
    const forged = `${header}.${Buffer.from(JSON.stringify(forgedClaims)).toString('base64url')}.${signature}`;
    await expect(refused(await ticket(forged, { key: stranger.privateKey }))).rejects.toThrow(/signature/);
  });

  it('refuses a ticket whose kid is not the certificate subject', async () => {
    await expect(refused(await ticket(await certificate(), { kid: 'ses_other' }))).rejects.toThrow(/not the certified key/);
  });

  it('refuses a ticket issued outside the certificate window, or a certificate living longer than a day', async () => {
    await expect(refused(await ticket(await certificate(), { iat: nowSeconds - 120 }))).rejects.toThrow(/outside its key certificate/);
    const ended = await certificate({ claims: { iat: nowSeconds - 86_400, exp: nowSeconds - 600 } });
    await expect(refused(await ticket(ended))).rejects.toThrow(/outside its key certificate/);
    const tooLong = await certificate({ claims: { exp: nowSeconds - 60 + 86_401 } });
    await expect(refused(await ticket(tooLong))).rejects.toThrow(/at most 86400 s/);
  });

  it('refuses a ticket signed by another key than the certified one, a certificate of the wrong type, and a binding carrying crt', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expect(refused(await ticket(await certificate(), { key: stranger.privateKey }))).rejects.toThrow(/signature/);
    await expect(refused(await ticket(await certificate({ typ: 'flashline-ticket+jwt' })))).rejects.toThrow(/typ/);
    await expect(refused(await ticket(await certificate(), { typ: 'flashline-binding+jwt' }), 'flashline-binding+jwt')).rejects.toThrow(/root key/);
  });

  it('still verifies a v1 ticket signed by a root key directly', async () => {
    const v1 = await new SignJWT(claimsAt(T0)).setProtectedHeader({ alg: 'ES256', typ: 'flashline-ticket+jwt', kid: ROOT_KID }).sign(root.privateKey);
    expect(await refused(v1)).toMatchObject({ jti: 'auth_1' });
  });
});
