import { describe, expect, it } from 'vitest';
import { authorizationDecision, bindingFit, imageReplaced, targetRefusal } from '../../shared/domain/authorizations.js';

const now = new Date('2026-11-27T10:00:00.000Z');
const job = { status: 'active' as const, maxCount: 10, notBefore: null, notAfter: null, run: 1, authorized: 0, factoryId: 'fac_1' };
const programmer = { status: 'active' as const, factoryId: 'fac_1', groupIds: ['grp_a'] };

describe('target groups', () => {
  it('lets every programmer of the factory work on a job without targets', () => {
    expect(targetRefusal({ groupIds: [] }, { targetGroupIds: null })).toBeUndefined();
    expect(targetRefusal({}, {})).toBeUndefined();
  });

  it('lets a member of any target group work on it and refuses everybody else with not_in_target_group', () => {
    expect(targetRefusal(programmer, { targetGroupIds: ['grp_b', 'grp_a'] })).toBeUndefined();
    const refusal = targetRefusal(programmer, { targetGroupIds: ['grp_b'] });
    expect(refusal).toMatchObject({ status: 409, code: 'not_in_target_group', details: { targetGroupIds: ['grp_b'] } });
    expect(targetRefusal({}, { targetGroupIds: ['grp_b'] })?.code).toBe('not_in_target_group');
  });

  it('is part of the authorization decision, after the factory check and before the job state', () => {
    const targeted = { ...job, targetGroupIds: ['grp_b'] };
    expect(authorizationDecision(programmer, targeted, 1, now)?.code).toBe('not_in_target_group');
    expect(authorizationDecision({ ...programmer, factoryId: 'fac_2' }, targeted, 1, now)?.code).toBe('wrong_factory');
    expect(authorizationDecision(programmer, { ...targeted, status: 'paused' }, 1, now)?.code).toBe('not_in_target_group');
    expect(authorizationDecision({ ...programmer, groupIds: ['grp_b'] }, targeted, 1, now)).toBeUndefined();
  });
});

describe('bindings after a replace', () => {
  const current = { accountId: 'acc_1', jobId: 'job_1', imageId: 'img_2', factoryId: 'fac_1' };
  const claims = { iss: 'flashline', acct: 'acc_1', job: 'job_1', img: 'img_2', fac: 'fac_1' };

  it("tells the job's current image from one it had before, and both from anything else", () => {
    expect(bindingFit(claims, current)).toBe('current');
    expect(bindingFit({ ...claims, img: 'img_1' }, current)).toBe('replaced');
    expect(bindingFit({ ...claims, job: 'job_2' }, current)).toBe('foreign');
    expect(bindingFit({ ...claims, acct: 'acc_2', img: 'img_1' }, current)).toBe('foreign');
    expect(bindingFit({ ...claims, fac: 'fac_2', img: 'img_1' }, current)).toBe('foreign');
    expect(bindingFit({ ...claims, iss: 'elsewhere' }, current)).toBe('foreign');
    expect(bindingFit(undefined, current)).toBe('foreign');
  });

  it('refuses with the new image id and binding, so a programmer can follow', () => {
    expect(imageReplaced('img_2', 'a.b.c')).toMatchObject({ status: 409, code: 'image_replaced', details: { imageId: 'img_2', binding: 'a.b.c' } });
  });
});
