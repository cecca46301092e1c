import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Bearer tokens: `fl<kind>.<accountId>.<credentialId>.<secret>`. The ids in front let the
 * authorizer read exactly one item; the 256-bit secret is what proves possession. Only the
 * SHA-256 of the secret is stored (a slow KDF adds nothing against a 256-bit random secret).
 */
export type TokenKind = 'key' | 'programmer';

const PREFIX: Record<TokenKind, string> = { key: 'flk', programmer: 'flp' };

export interface ParsedToken {
  kind: TokenKind;
  accountId: string;
  credentialId: string;
  secret: string;
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function formatToken(kind: TokenKind, accountId: string, credentialId: string, secret: string): string {
  return `${PREFIX[kind]}.${accountId}.${credentialId}.${secret}`;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

export function parseToken(token: string): ParsedToken | undefined {
  const parts = token.split('.');
  if (parts.length !== 4) return undefined;
  const [prefix, accountId, credentialId, secret] = parts as [string, string, string, string];
  const kind = prefix === PREFIX.key ? 'key' : prefix === PREFIX.programmer ? 'programmer' : undefined;
  if (!kind || !ID.test(accountId) || !ID.test(credentialId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
  return { kind, accountId, credentialId, secret };
}

/** Reads the token from an `Authorization: Bearer …` header value. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** Constant-time: the comparison takes as long whatever the first differing byte is. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
