import { describe, expect, it } from 'vitest';
import { authorizationDecision, isStaleReservation, leaseWindow } from '../../shared/domain/authorizations.js';
import { actionAllowed, availableActions, serialRange, serialSettingsProblems } from '../../shared/domain/jobs.js';

const now = new Date('2026-11-27T10:00:00.000Z');
const nowSeconds = now.getTime() / 1000;
const job = { status: 'active' as const, maxCount: 10, notBefore: null, notAfter: null, run: 1, authorized: 4, factoryId: 'fac_1' };
const programmer = { status: 'active' as const, factoryId: 'fac_1' };

describe('authorizationDecision', () => {
  it('checks the programmer before the job, then the job state, dates and limit', () => {
    expect(authorizationDecision({ ...programmer, status: 'disabled' }, { ...job, status: 'deleted' }, 1, now)?.code).toBe('programmer_disabled');
    expect(authorizationDecision(programmer, { ...job, status: 'deleted' }, 1, now)?.code).toBe('job_deleted');
    expect(authorizationDecision({ ...programmer, factoryId: 'fac_2' }, job, 1, now)?.code).toBe('wrong_factory');
    expect(authorizationDecision(programmer, { ...job, status: 'paused' }, 1, now)?.code).toBe('job_paused');
    expect(authorizationDecision(programmer, job, 7, now)).toMatchObject({ code: 'job_completed', details: { remaining: 6 } });
    expect(authorizationDecision(programmer, job, 6, now)).toBeUndefined();
  });
});

describe('leaseWindow', () => {
  it('defaults to ten minutes and refuses what the job does not allow', () => {
    expect(leaseWindow({ notAfter: null, maxLeaseSeconds: null }, undefined, now)).toEqual({ iat: nowSeconds, exp: nowSeconds + 600, validSeconds: 600 });
    expect(() => leaseWindow({ notAfter: null, maxLeaseSeconds: null }, 601, now)).toThrow(expect.objectContaining({ status: 409, code: 'lease_too_long', details: { maxLeaseSeconds: 600 } }));
    expect(() => leaseWindow({ notAfter: null, maxLeaseSeconds: null }, 59, now)).toThrow(/validSeconds/);
    expect(leaseWindow({ notAfter: null, maxLeaseSeconds: 86_400 }, 86_400, now).exp).toBe(nowSeconds + 86_400);
  });

  it('never ends after the job does, and a short job ceiling lowers the default', () => {
    const notAfter = new Date(now.getTime() + 90_000).toISOString();
    expect(leaseWindow({ notAfter, maxLeaseSeconds: 3_600 }, 3_600, now).exp).toBe(nowSeconds + 90);
    expect(leaseWindow({ notAfter: null, maxLeaseSeconds: 120 }, undefined, now).validSeconds).toBe(120);
  });
});

describe('stale reservations', () => {
  it('calls a reservation stale only well after any request could still be running', () => {
    expect(isStaleReservation(nowSeconds - 59, now)).toBe(false);
    expect(isStaleReservation(nowSeconds - 60, now)).toBe(true);
  });
});

describe('job transitions: one table for the API and the console', () => {
  it('offers restart on active, paused and completed jobs but not on expired or deleted ones', () => {
    expect(availableActions('active')).toEqual(['pause', 'restart', 'delete']);
    expect(availableActions('paused')).toEqual(['resume', 'restart', 'delete']);
    expect(availableActions('completed')).toEqual(['restart', 'delete']);
    expect(availableActions('expired')).toEqual(['delete']);
    expect(availableActions('deleted')).toEqual([]);
    expect(actionAllowed('expired', 'restart')).toBe(false);
  });
});

describe('serial settings', () => {
  const rule = { start: 1, step: 1, format: 'SN-{n:08}' };

  it('accepts ordinary settings', () => {
    expect(serialSettingsProblems(rule, 1_000_000)).toEqual([]);
    expect(serialSettingsProblems(rule, null)).toEqual([]);
  });

  it('refuses numbers beyond 2^53, where two units could get the same serial', () => {
    expect(serialSettingsProblems({ ...rule, start: Number.MAX_SAFE_INTEGER - 5 }, 10)).toEqual([{ path: 'serials.start', message: expect.stringContaining('2^53') }]);
    expect(serialSettingsProblems({ ...rule, start: 5e15, step: 1_000_000 }, null)).toEqual([{ path: 'serials.start', message: expect.any(String) }]);
  });

  it('refuses formats that would produce serials over 64 characters', () => {
    expect(serialSettingsProblems({ ...rule, format: `${'X'.repeat(60)}{n:08}` }, 10)).toEqual([{ path: 'serials.format', message: expect.stringContaining('68 characters') }]);
  });

  it('refuses to number units past 2^53 at authorization time too', () => {
    expect(() => serialRange({ ...rule, start: Number.MAX_SAFE_INTEGER - 1 }, 0, 3)).toThrow(expect.objectContaining({ code: 'serials_exhausted' }));
    expect(serialRange({ ...rule, start: Number.MAX_SAFE_INTEGER - 2 }, 0, 3)).toHaveLength(3);
  });
});
