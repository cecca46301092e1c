import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64url, decodeJwsPayload, derToJoseSignature, signingInput } from '../../shared/domain/jws.js';

/** DER `SEQUENCE { INTEGER r, INTEGER s }` built by hand, for the shapes random signatures rarely hit. */
function der(r: Buffer, s: Buffer): Buffer {
  const integer = (value: Buffer) => Buffer.concat([Buffer.from([0x02, value.length]), value]);
  const content = Buffer.concat([integer(r), integer(s)]);
  return Buffer.concat([Buffer.from([0x30, content.length]), content]);
}

describe('derToJoseSignature', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('turns node:crypto DER signatures into r||s that verify as IEEE P1363', () => {
    // Enough signatures that r or s with a leading 0x00 sign byte (half of them) and with a
    // shorter integer (1 in 128) both occur.
    const lengths = new Set<number>();
    for (let i = 0; i < 400; i += 1) {
      const message = randomBytes(40);
      const signature = sign('sha256', message, { key: p256.privateKey, dsaEncoding: 'der' });
      lengths.add(signature.length);
      const jose = derToJoseSignature(signature);
      expect(jose).toHaveLength(64);
      expect(verify('sha256', message, { key: p256.publicKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
    }
    expect(lengths.size).toBeGreaterThan(1);
  });

  it('left-pads short integers and drops the DER sign byte', () => {
    const r = Buffer.from(`7f${'11'.repeat(30)}`, 'hex'); // 31 bytes
    const s = Buffer.from(`00ff${'22'.repeat(31)}`, 'hex'); // 33 bytes: sign byte + 32
    const jose = derToJoseSignature(der(r, s));
    expect(jose.toString('hex')).toBe(`007f${'11'.repeat(30)}ff${'22'.repeat(31)}`);
  });

  it('reads long-form DER lengths (P-521, 66-byte integers)', () => {
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    for (let i = 0; i < 20; i += 1) {
      const message = randomBytes(16);
      const signature = sign('sha512', message, { key: p521.privateKey, dsaEncoding: 'der' });
      expect(signature[1]).toBe(0x81);
      const jose = derToJoseSignature(signature, 66);
      expect(verify('sha512', message, { key: p521.publicKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
    }
  });

  it.each([
    ['not a sequence', Buffer.from('0206010203040506', 'hex')],
    ['a truncated signature', Buffer.from('30', 'hex')],
    ['a wrong sequence length', Buffer.from('300602010102010100', 'hex')],
    ['an integer longer than the curve', der(Buffer.from(`01${'11'.repeat(32)}`, 'hex'), Buffer.from('01', 'hex'))],
    ['a missing integer tag', Buffer.from('3006030101020101', 'hex')],
  ])('refuses %s', (_what, bytes) => {
    expect(() => derToJoseSignature(bytes)).toThrow(/Malformed DER signature/);
  });
});

describe('compact JWS helpers', () => {
  it('builds the signing input from base64url JSON and reads the payload back', () => {
    const input = signingInput({ alg: 'ES256', kid: 'k1', typ: 'flashline-binding+jwt' }, { iss: 'flashline', n: 1 });
    const [header, payload] = input.split('.');
    expect(JSON.parse(Buffer.from(header as string, 'base64url').toString())).toEqual({ alg: 'ES256', kid: 'k1', typ: 'flashline-binding+jwt' });
    expect(input).not.toMatch(/[=+/]/);
    expect(JSON.parse(Buffer.from(payload as string, 'base64url').toString())).toEqual({ iss: 'flashline', n: 1 });
    expect(decodeJwsPayload(`${input}.${base64url('sig')}`)).toEqual({ iss: 'flashline', n: 1 });
  });

  it.each(['', 'a.b', 'a..c', `a.${base64url('not json')}.c`, `a.${base64url('42')}.c`, `a.${base64url('null')}.c`])('reads no payload from %j', (jws) => {
    expect(decodeJwsPayload(jws)).toBeUndefined();
  });
});
