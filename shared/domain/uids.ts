/**
 * Chip UIDs (api.md "Per-unit data"): a job's `uidPolicy` says in which scope a chip may be
 * programmed once; an authorization names the chips it is about to program, a result names the
 * chip of each serial. Pure rules; the claims themselves are in store/uid-claims.ts.
 */
import { StateConflictError } from './errors.js';

export type UidPolicy = 'none' | 'unique_per_job' | 'unique_per_account';

/** Hex, any case in; upper case is the one stored and compared form. */
export const normalizeUid = (uid: string): string => uid.toUpperCase();

const uidsIssue = (message: string) => new StateConflictError('invalid_uids', `uids ${message}`, [{ path: 'uids', message }]);

/**
 * The UIDs of an authorization, in unit order (the order of its serials), or undefined for a job
 * without a UID policy. A UID job needs one distinct UID per unit; a job without takes none.
 */
export function authorizationUids(policy: UidPolicy, units: number, uids: readonly string[] | undefined): string[] | undefined {
  if (policy === 'none') {
    if (uids) throw uidsIssue('are not taken: uidPolicy is none');
    return undefined;
  }
  const normalized = uids?.map(normalizeUid) ?? [];
  // One per unit, distinct (a missing list is none of them; a list with repeats, even of other
  // case, is not one per unit however many distinct values it has).
  if (normalized.length !== units || new Set(normalized).size !== units) throw uidsIssue(`must be ${units} distinct chip UID(s), one per unit (uidPolicy ${policy})`);
  return normalized;
}

/**
 * A result of a UID authorization must name the UID its serial was granted with; one of an
 * authorization without UIDs names none. Checked before anything is recorded.
 */
export function checkResultUids(serials: readonly string[], grantedUids: readonly string[] | undefined, results: readonly { serial: string; uid?: string }[]): void {
  results.forEach((result, i) => {
    const granted = grantedUids?.[serials.indexOf(result.serial)];
    const given = result.uid === undefined ? undefined : normalizeUid(result.uid);
    if (given === granted) return;
    const message = granted ? `must be ${granted}, granted with ${result.serial}` : 'is not taken: no UIDs were granted';
    throw new StateConflictError('uid_mismatch', `results[${i}].uid ${message}`, [{ path: `results[${i}].uid`, message }]);
  });
}
