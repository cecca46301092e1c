import { describe, expect, it } from 'vitest';
import { authorizationIdFor } from '../../shared/store/authorizations.js';
import { keys } from '../../shared/store/keys.js';

/**
 * The job item's reservation ledger names (store/keys.ts): short, because every busy
 * container's entry weighs on the job item's write units, and readable in both forms, because
 * job items written before the compact names may still carry the long ones.
 */
describe('reservation ledger attribute names', () => {
  const authorizationId = authorizationIdFor('acc_1', 'prg_1', 'nonce-1');
  const reservedAtSeconds = 1_795_817_566;

  it('writes a canonical authorization in 32 characters and reads back what it wrote', () => {
    const name = keys.reservationAttribute(reservedAtSeconds, 1, authorizationId);
    expect(name).toHaveLength(32);
    expect(name.startsWith('@')).toBe(true);
    expect(keys.parseReservationAttribute(name)).toEqual({ reservedAtSeconds, units: 1, authorizationId });
    expect(keys.parseReservationAttribute(keys.reservationAttribute(reservedAtSeconds, 1000, authorizationId))).toEqual({ reservedAtSeconds, units: 1000, authorizationId });
  });

  it('keeps every bit of the authorization id, so recovery finds the right authorization item', () => {
    const other = authorizationIdFor('acc_1', 'prg_1', 'nonce-2');
    const names = [authorizationId, other].map((id) => keys.reservationAttribute(reservedAtSeconds, 1, id));
    expect(new Set(names).size).toBe(2);
    expect(names.map((name) => keys.parseReservationAttribute(name)?.authorizationId)).toEqual([authorizationId, other]);
  });

  it('still reads the long names of job items written before', () => {
    expect(keys.parseReservationAttribute(`rsv_${reservedAtSeconds}_3_${authorizationId}`)).toEqual({ reservedAtSeconds, units: 3, authorizationId });
  });

  it('falls back to the long form for an id that is not canonical, and ignores every other job attribute', () => {
    expect(keys.reservationAttribute(reservedAtSeconds, 1, 'auth_ffff')).toBe(`rsv_${reservedAtSeconds}_1_auth_ffff`);
    for (const attribute of ['run', 'runStartIndex', 'returned', 'restrictions', 'authorized', '@', '@x.y.z']) expect(keys.parseReservationAttribute(attribute)).toBeUndefined();
  });
});
