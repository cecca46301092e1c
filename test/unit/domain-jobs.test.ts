import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../shared/domain/errors.js';
import { type JobState, applyTransition, authorizationRefusal, downloadRefusal, effectiveStatus, remainingUnits, serialAt, serialRange } from '../../shared/domain/jobs.js';

const now = new Date('2026-06-01T12:00:00Z');
const job = (overrides: Partial<JobState> = {}): JobState => ({
  status: 'active',
  maxCount: null,
  notBefore: null,
  notAfter: null,
  run: 1,
  authorized: 0,
  ...overrides,
});

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as ConflictError).code;
  }
  return undefined;
};

describe('effective status', () => {
  it('is completed when the limit is used up and expired after notAfter', () => {
    expect(effectiveStatus(job({ maxCount: 3, authorized: 3 }), now)).toBe('completed');
    expect(effectiveStatus(job({ maxCount: 3, authorized: 2 }), now)).toBe('active');
    expect(effectiveStatus(job({ notAfter: '2026-06-01T11:59:59Z' }), now)).toBe('expired');
    expect(effectiveStatus(job({ status: 'paused', maxCount: 1, authorized: 1 }), now)).toBe('completed');
    expect(effectiveStatus(job({ status: 'deleted', notAfter: '2020-01-01T00:00:00Z' }), now)).toBe('deleted');
  });

  it('counts remaining units against authorized ones, null without a limit', () => {
    expect(remainingUnits(job())).toBeNull();
    expect(remainingUnits(job({ maxCount: 10, authorized: 4 }))).toBe(6);
    expect(remainingUnits(job({ maxCount: 10, authorized: 12 }))).toBe(0);
  });
});

describe('transitions', () => {
  it('allows pause from active, resume from paused, restart and delete from the rest', () => {
    expect(applyTransition(job(), 'pause', now)).toBe('paused');
    expect(applyTransition(job({ status: 'paused' }), 'resume', now)).toBe('active');
    expect(applyTransition(job({ maxCount: 1, authorized: 1 }), 'restart', now)).toBe('active');
    expect(applyTransition(job({ status: 'paused' }), 'delete', now)).toBe('deleted');
  });

  it('refuses what does not apply with invalid_transition', () => {
    expect(codeOf(() => applyTransition(job({ status: 'paused' }), 'pause', now))).toBe('invalid_transition');
    expect(codeOf(() => applyTransition(job(), 'resume', now))).toBe('invalid_transition');
    expect(codeOf(() => applyTransition(job({ status: 'deleted' }), 'delete', now))).toBe('invalid_transition');
    expect(codeOf(() => applyTransition(job({ notAfter: '2026-01-01T00:00:00Z' }), 'restart', now))).toBe('invalid_transition');
    expect(codeOf(() => applyTransition(job({ maxCount: 2, authorized: 2 }), 'pause', now))).toBe('invalid_transition');
  });
});

describe('authorization refusals', () => {
  it('names each reason with its contract code', () => {
    expect(authorizationRefusal(job({ status: 'deleted' }), 1, now)?.code).toBe('job_deleted');
    expect(authorizationRefusal(job({ status: 'paused' }), 1, now)?.code).toBe('job_paused');
    expect(authorizationRefusal(job({ notBefore: '2026-06-02T00:00:00Z' }), 1, now)?.code).toBe('job_not_started');
    expect(authorizationRefusal(job({ notAfter: '2026-05-31T00:00:00Z' }), 1, now)?.code).toBe('job_expired');
    expect(authorizationRefusal(job({ maxCount: 5 }), 5, now)).toBeUndefined();
  });

  it('reports what remains when asked for more than is left', () => {
    const partial = authorizationRefusal(job({ maxCount: 5, authorized: 3 }), 3, now);
    expect(partial).toBeInstanceOf(ConflictError);
    expect(partial).toMatchObject({ code: 'job_completed', details: { remaining: 2 } });
    expect(authorizationRefusal(job({ maxCount: 5, authorized: 5 }), 1, now)).toMatchObject({ details: { remaining: 0 } });
  });
});

describe('download refusals', () => {
  it('lets a line stage the image before the start date, but not from a finished, paused or deleted job', () => {
    expect(downloadRefusal(job({ notBefore: '2026-07-01T00:00:00Z' }), now)).toBeUndefined();
    expect(downloadRefusal(job({ maxCount: 2, authorized: 2 }), now)).toMatchObject({ code: 'job_completed', details: { remaining: 0 } });
    expect(downloadRefusal(job({ notAfter: '2026-05-01T00:00:00Z' }), now)?.code).toBe('job_expired');
    expect(downloadRefusal(job({ status: 'paused' }), now)?.code).toBe('job_paused');
    expect(downloadRefusal(job({ status: 'deleted' }), now)?.code).toBe('job_deleted');
  });
});

describe('serial numbers', () => {
  const rule = { start: 1000, step: 5, format: 'SN-{n:08}' };

  it('formats with zero padding, step and start', () => {
    expect(serialAt(rule, 0)).toBe('SN-00001000');
    expect(serialAt(rule, 3)).toBe('SN-00001015');
    expect(serialAt({ start: 7, step: 1, format: 'LOT42/{n}' }, 0)).toBe('LOT42/7');
    expect(serialAt({ start: 123456, step: 1, format: '{n:04}' }, 0)).toBe('123456');
  });

  it('gives consecutive ranges that never overlap', () => {
    const first = serialRange(rule, 0, 3);
    const second = serialRange(rule, 3, 2);
    expect(first).toEqual(['SN-00001000', 'SN-00001005', 'SN-00001010']);
    expect(new Set([...first, ...second]).size).toBe(5);
  });
});
