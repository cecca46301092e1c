import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bearerToken, formatToken, hashSecret, newSecret, parseToken, secretMatches } from '../../shared/domain/tokens.js';

// Wraps the real timingSafeEqual so the tests can see that the comparison goes through it.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});
const { timingSafeEqual } = await import('node:crypto');

describe('tokens', () => {
  afterEach(() => vi.mocked(timingSafeEqual).mockClear());

  it('makes 256-bit url-safe secrets, a new one every time', () => {
    const secrets = new Set(Array.from({ length: 100 }, newSecret));
    expect(secrets.size).toBe(100);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    }
  });

  it('stores the SHA-256 of the secret as lowercase hex, never the secret', () => {
    const secret = newSecret();
    const hash = hashSecret(secret);
    expect(hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(secret);
    expect(hashSecret(secret)).toBe(hash);
  });

  it('round-trips an API key token and a programmer token through format and parse', () => {
    const secret = newSecret();
    expect(parseToken(formatToken('key', 'acc_1', 'key_2', secret))).toEqual({ kind: 'key', accountId: 'acc_1', credentialId: 'key_2', secret });
    const programmer = formatToken('programmer', 'acc_1', 'prg_3', secret);
    expect(programmer.startsWith('flp.')).toBe(true);
    expect(parseToken(programmer)).toEqual({ kind: 'programmer', accountId: 'acc_1', credentialId: 'prg_3', secret });
  });

  it.each([
    ['an empty string', ''],
    ['an unknown prefix', `flx.acc_1.key_2.${'a'.repeat(43)}`],
    ['too few parts', `flk.acc_1.${'a'.repeat(43)}`],
    ['too many parts', `flk.acc_1.key_2.${'a'.repeat(43)}.x`],
    ['a short secret', `flk.acc_1.key_2.${'a'.repeat(42)}`],
    ['a long secret', `flk.acc_1.key_2.${'a'.repeat(44)}`],
    ['a secret with padding', `flk.acc_1.key_2.${'a'.repeat(42)}=`],
    ['an account id with a key separator', `flk.acc#1.key_2.${'a'.repeat(43)}`],
    ['an empty credential id', `flk.acc_1..${'a'.repeat(43)}`],
    ['an overlong account id', `flk.${'a'.repeat(65)}.key_2.${'a'.repeat(43)}`],
  ])('refuses %s', (_what, token) => {
    expect(parseToken(token)).toBeUndefined();
  });

  it.each([
    ['Bearer abc.def', 'abc.def'],
    ['bearer abc', 'abc'],
    ['BEARER   abc  ', 'abc'],
  ])('reads the token of %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([undefined, '', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer a b', 'abc'])('finds no bearer token in %j', (header) => {
    expect(bearerToken(header)).toBeUndefined();
  });

  it('matches the right secret only, comparing hashes in constant time', () => {
    const secret = newSecret();
    const stored = hashSecret(secret);
    expect(secretMatches(secret, stored)).toBe(true);
    expect(secretMatches(newSecret(), stored)).toBe(false);
    // Same length, differs only in the last character: still a full-length comparison.
    expect(secretMatches(`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`, stored)).toBe(false);
    const calls = vi.mocked(timingSafeEqual).mock.calls;
    expect(calls).toHaveLength(3);
    for (const [a, b] of calls) expect((a as Buffer).length).toBe((b as Buffer).length);
  });

  it('says no, without throwing, to a stored hash of another length', () => {
    const secret = newSecret();
    expect(secretMatches(secret, hashSecret(secret).slice(0, 32))).toBe(false);
    expect(secretMatches(secret, '')).toBe(false);
  });
});
