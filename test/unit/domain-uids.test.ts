import { describe, expect, it } from 'vitest';
import { StateConflictError } from '../../shared/domain/errors.js';
import { authorizationUids, checkResultUids } from '../../shared/domain/uids.js';

const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    // A conflict with the job's or the authorization's state: 409, the field still named.
    expect(error).toBeInstanceOf(StateConflictError);
    expect((error as StateConflictError).status).toBe(409);
    return { code: (error as StateConflictError).code, path: ((error as StateConflictError).details?.issues as { path: string }[])[0]?.path };
  }
  throw new Error('expected a refusal');
};

describe('chip UID rules', () => {
  it('takes one distinct UID per unit for a UID job, upper-cased', () => {
    expect(authorizationUids('unique_per_job', 2, ['0a1b', '0A1C'])).toEqual(['0A1B', '0A1C']);
    expect(authorizationUids('none', 2, undefined)).toBeUndefined();
  });

  it('refuses missing, miscounted, repeated or unwanted UIDs with 409 naming uids', () => {
    expect(codeOf(() => authorizationUids('unique_per_account', 1, undefined))).toEqual({ code: 'invalid_uids', path: 'uids' });
    expect(codeOf(() => authorizationUids('unique_per_job', 2, ['AA']))).toEqual({ code: 'invalid_uids', path: 'uids' });
    expect(codeOf(() => authorizationUids('unique_per_job', 2, ['aa', 'AA']))).toEqual({ code: 'invalid_uids', path: 'uids' });
    expect(codeOf(() => authorizationUids('none', 1, ['AA']))).toEqual({ code: 'invalid_uids', path: 'uids' });
    // Two distinct chips for two units, but three entries: the repeat must not pass as one per unit.
    expect(codeOf(() => authorizationUids('unique_per_job', 2, ['AA', 'aa', 'BB']))).toEqual({ code: 'invalid_uids', path: 'uids' });
  });

  it('wants each result to name the UID its serial was granted with', () => {
    const serials = ['SN-1', 'SN-2'];
    expect(() => checkResultUids(serials, ['AA', 'BB'], [{ serial: 'SN-2', uid: 'bb' }, { serial: 'SN-1', uid: 'AA' }])).not.toThrow();
    expect(codeOf(() => checkResultUids(serials, ['AA', 'BB'], [{ serial: 'SN-1', uid: 'AA' }, { serial: 'SN-2', uid: 'AA' }]))).toEqual({ code: 'uid_mismatch', path: 'results[1].uid' });
    expect(codeOf(() => checkResultUids(serials, ['AA', 'BB'], [{ serial: 'SN-1' }]))).toEqual({ code: 'uid_mismatch', path: 'results[0].uid' });
    expect(codeOf(() => checkResultUids(serials, undefined, [{ serial: 'SN-1', uid: 'AA' }]))).toEqual({ code: 'uid_mismatch', path: 'results[0].uid' });
    expect(() => checkResultUids(serials, undefined, [{ serial: 'SN-1' }])).not.toThrow();
  });
});
