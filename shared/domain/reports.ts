/**
 * Pure rules of result reports: which reported units are new, which were reported before, which
 * came too late, and what a release gives back. An authorization's units are numbered by their
 * place in its grant (offset 0 … units − 1); what has been reported is a bit set over those
 * offsets (`ReportedSet`), so idempotency by (authorization, serial) costs a few bytes per
 * authorization instead of one stored item per unit. Nothing here does I/O.
 */
import { ConflictError, ValidationError, type ValidationIssue } from './errors.js';

export interface ResultInput {
  serial: string;
  status: 'success' | 'failure';
  errorCode?: string;
  durationMs?: number;
  at?: string;
  /** The chip's UID, for an authorization of a UID job: the one the serial was granted with. */
  uid?: string;
}

/** A result that counts: its unit's place in the grant, and what was reported for it. */
export interface NewResult {
  offset: number;
  result: ResultInput;
}

/** The reported units of one authorization, one bit per offset; bytes are stored as they are. */
export class ReportedSet {
  private constructor(private readonly bits: Uint8Array, readonly units: number) {}

  static empty(units: number): ReportedSet {
    return new ReportedSet(new Uint8Array(Math.ceil(units / 8)), units);
  }

  /** Bits as stored; a missing or short value reads as nothing reported. */
  static fromBytes(units: number, bytes: Uint8Array | undefined): ReportedSet {
    const set = ReportedSet.empty(units);
    if (bytes) set.bits.set(bytes.subarray(0, set.bits.length));
    return set;
  }

  has(offset: number): boolean {
    return ((this.bits[offset >> 3] ?? 0) & (1 << (offset & 7))) !== 0;
  }

  with(offsets: readonly number[]): ReportedSet {
    const next = new ReportedSet(this.bits.slice(), this.units);
    for (const offset of offsets) next.bits[offset >> 3] = (next.bits[offset >> 3] ?? 0) | (1 << (offset & 7));
    return next;
  }

  get count(): number {
    let count = 0;
    for (let offset = 0; offset < this.units; offset += 1) if (this.has(offset)) count += 1;
    return count;
  }

  /** Offsets with no reported result, in grant order. */
  missing(): number[] {
    return Array.from({ length: this.units }, (_, offset) => offset).filter((offset) => !this.has(offset));
  }

  toBytes(): Uint8Array {
    return this.bits.slice();
  }
}

export interface ReportPlan {
  /** Units reported for the first time, in request order. */
  fresh: NewResult[];
  /** Results for units already reported (by an earlier attempt or request), and repeats within the request. */
  duplicates: number;
}

/**
 * What a report adds to what its authorization has: every serial must be one the authorization
 * granted (else `400`, nothing recorded), a serial reported twice in one request must agree with
 * itself, and a unit reported before counts as a duplicate. After a release, a unit that went
 * back to the job (not reported when the release froze the set) is refused: `409 authorization_released`.
 */
export function planReport(
  authorizationId: string,
  grantedSerials: readonly string[],
  reported: ReportedSet,
  results: readonly ResultInput[],
  released: boolean,
): ReportPlan {
  const offsets = new Map(grantedSerials.map((serial, offset) => [serial, offset]));
  const inRequest = new Map<string, ResultInput>();
  const issues: ValidationIssue[] = [];
  results.forEach((result, index) => {
    if (!offsets.has(result.serial)) {
      issues.push({ path: `results.${index}.serial`, message: `${result.serial} was not granted by authorization ${authorizationId}` });
    }
    const earlier = inRequest.get(result.serial);
    if (earlier && earlier.status !== result.status) {
      issues.push({ path: `results.${index}.serial`, message: `${result.serial} is reported twice with different outcomes` });
    }
    if (!earlier) inRequest.set(result.serial, result);
  });
  if (issues.length > 0) throw new ValidationError(issues);

  const fresh: NewResult[] = [];
  const late: string[] = [];
  for (const [serial, result] of inRequest) {
    const offset = offsets.get(serial)!;
    if (reported.has(offset)) continue;
    if (released) late.push(serial);
    else fresh.push({ offset, result });
  }
  if (late.length > 0) {
    throw new ConflictError('authorization_released', `Authorization ${authorizationId} was released; ${late.length} of these serial(s) went back to the job`, {
      authorizationId,
      serials: late,
    });
  }
  return { fresh, duplicates: results.length - fresh.length };
}

export interface ReleaseOutcome {
  reported: number;
  returned: number;
  /** Serials given back, in grant order. */
  returnedSerials: string[];
}

/** A release gives back every unit of the authorization that has no reported result. */
export function releaseOutcome(grantedSerials: readonly string[], reported: ReportedSet): ReleaseOutcome {
  const returnedSerials = reported.missing().map((offset) => grantedSerials[offset]!);
  return { reported: grantedSerials.length - returnedSerials.length, returned: returnedSerials.length, returnedSerials };
}
