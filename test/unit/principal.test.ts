import { describe, expect, it } from 'vitest';
import { type Principal, actorOf, callerOf, principalFromContext, principalToContext, seesFactory } from '../../shared/http/principal.js';

const key: Principal = { kind: 'account', accountId: 'acc_1', role: 'viewer', via: 'key', keyId: 'key_1' };
const scopedKey: Principal = { kind: 'account', accountId: 'acc_1', role: 'operator', via: 'key', keyId: 'key_2', factoryIds: ['fac_a', 'fac_b'] };
const person: Principal = { kind: 'account', accountId: 'acc_1', role: 'author', via: 'person', personId: 'per_1', email: 'ada@example.com', factoryIds: ['fac_a'] };
const programmer: Principal = { kind: 'programmer', accountId: 'acc_1', programmerId: 'prg_1', credentialId: 'prg_1' };

describe('the principal in the authorizer context', () => {
  it.each([
    ['an account-wide key', key],
    ['a key limited to factories', scopedKey],
    ['a person', person],
    ['a programmer', programmer],
  ])('survives the flat string map of the authorizer: %s', (_label, principal) => {
    const context = principalToContext(principal);
    for (const value of Object.values(context)) expect(typeof value).toBe('string');
    expect(principalFromContext(context)).toEqual(principal);
  });

  it('reads an empty factory list as no factory at all, never as every factory', () => {
    const principal = principalFromContext({ kind: 'account', accountId: 'acc_1', role: 'viewer', via: 'key', keyId: 'key_1', factoryIds: '' });
    expect(principal).toMatchObject({ factoryIds: [] });
    expect(seesFactory(principal as Extract<Principal, { kind: 'account' }>, 'fac_a')).toBe(false);
  });

  it('refuses an unknown role and a person without an email', () => {
    expect(principalFromContext({ kind: 'account', accountId: 'acc_1', role: 'owner', via: 'key', keyId: 'key_1' })).toBeUndefined();
    expect(principalFromContext({ kind: 'account', accountId: 'acc_1', role: 'viewer', via: 'person', personId: 'per_1' })).toBeUndefined();
  });

  it('reads a context cached before `via` existed as the key it names', () => {
    expect(principalFromContext({ kind: 'account', accountId: 'acc_1', role: 'admin', keyId: 'key_1' })).toEqual({ ...key, role: 'admin' });
  });
});

describe('who a principal is', () => {
  it('names keys, people and programmers in audit records', () => {
    expect([key, person, programmer].map(actorOf)).toEqual(['key:key_1', 'person:per_1', 'programmer:prg_1']);
  });

  it('describes the caller with its role and factories', () => {
    expect(callerOf(scopedKey as Extract<Principal, { kind: 'account' }>)).toEqual({ via: 'key', keyId: 'key_2', role: 'operator', factoryIds: ['fac_a', 'fac_b'] });
    expect(callerOf(person as Extract<Principal, { kind: 'account' }>)).toEqual({ via: 'person', personId: 'per_1', email: 'ada@example.com', role: 'author', factoryIds: ['fac_a'] });
  });

  it('sees a factory when it has no factory list or the list names it', () => {
    expect(seesFactory(key as Extract<Principal, { kind: 'account' }>, 'fac_z')).toBe(true);
    expect(seesFactory(scopedKey as Extract<Principal, { kind: 'account' }>, 'fac_b')).toBe(true);
    expect(seesFactory(scopedKey as Extract<Principal, { kind: 'account' }>, 'fac_z')).toBe(false);
  });
});
