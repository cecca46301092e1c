import { randomBytes } from 'node:crypto';

/** Opaque, unguessable ids with a type prefix so a misplaced id is obvious in logs. */
export type IdKind = 'acc' | 'fac' | 'key' | 'prg' | 'img' | 'job' | 'auth' | 'aud' | 'pool' | 'mac' | 'ca' | 'list' | 'upl' | 'wh' | 'per' | 'grp';

export function newId(kind: IdKind): string {
  return `${kind}_${randomBytes(10).toString('hex')}`;
}
