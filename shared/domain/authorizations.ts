/**
 * Pure rules of authorizations and leases: who may be given units now, for how long, and what a
 * release gives back. The store feeds them what it read and enforces the count limit again in
 * its conditional write; nothing here does I/O.
 */
import { ConflictError, ValidationError } from './errors.js';
import { type JobState, authorizationRefusal } from './jobs.js';

/** A lease is ten minutes unless the job allows longer: the programmer programs right after asking. */
export const DEFAULT_LEASE_SECONDS = 600;
export const MIN_LEASE_SECONDS = 60;
/** What an author may allow at most (`restrictions.maxLeaseSeconds`): a week, for lines that work offline. */
export const MAX_LEASE_LIMIT_SECONDS = 7 * 86_400;

export interface ProgrammerState {
  status: 'active' | 'disabled';
  factoryId: string;
  /** Its programmer groups; absent: none. */
  groupIds?: readonly string[];
}

export interface JobForDevice extends JobState {
  factoryId: string;
  /** The groups the job is for; null or absent: every programmer of its factory. */
  targetGroupIds?: readonly string[] | null;
}

/** A job aimed at programmer groups is for their members only; the refusal names the groups so an admin can tell why. */
export function targetRefusal(programmer: Pick<ProgrammerState, 'groupIds'>, job: Pick<JobForDevice, 'targetGroupIds'>): ConflictError | undefined {
  if (!job.targetGroupIds) return undefined;
  const member = programmer.groupIds ?? [];
  if (job.targetGroupIds.some((groupId) => member.includes(groupId))) return undefined;
  return new ConflictError('not_in_target_group', 'Not in a target group', { targetGroupIds: job.targetGroupIds });
}

/** Why this programmer may not work on this job at all (any device route), as the contract's 409. */
export function deviceRefusal(programmer: ProgrammerState, job: JobForDevice): ConflictError | undefined {
  if (programmer.status !== 'active') return new ConflictError('programmer_disabled', 'This programmer is disabled');
  if (job.status === 'deleted') return new ConflictError('job_deleted', 'This job has been deleted');
  if (job.factoryId !== programmer.factoryId) {
    return new ConflictError('wrong_factory', "This job belongs to another factory than this programmer's", { programmerFactoryId: programmer.factoryId });
  }
  return targetRefusal(programmer, job);
}

/** How a presented binding relates to the job it names: its current image, an image the job had before a replace, or none of this job. */
export type BindingFit = 'current' | 'replaced' | 'foreign';

export function bindingFit(
  claims: Record<string, unknown> | undefined,
  job: { accountId: string; jobId: string; imageId: string; factoryId: string },
): BindingFit {
  if (!claims || claims.iss !== 'flashline' || claims.acct !== job.accountId || claims.job !== job.jobId || claims.fac !== job.factoryId) return 'foreign';
  return claims.img === job.imageId ? 'current' : 'replaced';
}

/** A programmer holding a replaced image is told which image to fetch and the binding that proves it. */
export function imageReplaced(imageId: string, binding: string): ConflictError {
  return new ConflictError('image_replaced', 'Image replaced', { imageId, binding });
}

/** Everything that decides an authorization before any write: the programmer, then the job's state, dates and limit. */
export function authorizationDecision(programmer: ProgrammerState, job: JobForDevice, units: number, now: Date): ConflictError | undefined {
  return deviceRefusal(programmer, job) ?? authorizationRefusal(job, units, now);
}

export interface LeaseWindow {
  /** NumericDate seconds. */
  iat: number;
  exp: number;
  validSeconds: number;
}

/**
 * How long a ticket is good for: what the programmer asked (default ten minutes), within the
 * job's `maxLeaseSeconds`, and never past the job's `notAfter`.
 */
export function leaseWindow(job: Pick<JobState, 'notAfter'> & { maxLeaseSeconds: number | null }, requestedSeconds: number | undefined, now: Date): LeaseWindow {
  const ceiling = job.maxLeaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const validSeconds = requestedSeconds ?? Math.min(DEFAULT_LEASE_SECONDS, ceiling);
  if (validSeconds < MIN_LEASE_SECONDS) throw new ValidationError([{ path: 'validSeconds', message: `must be at least ${MIN_LEASE_SECONDS}` }]);
  // Well-formed (the schema's own limit is the largest any job may allow), but more than this
  // job allows: a conflict with the job's settings, like asking for more units than remain.
  if (validSeconds > ceiling) {
    throw new ConflictError('lease_too_long', `validSeconds must be at most ${ceiling}, this job's maxLeaseSeconds`, { maxLeaseSeconds: ceiling });
  }
  const iat = Math.floor(now.getTime() / 1000);
  const jobEnd = job.notAfter === null ? Number.POSITIVE_INFINITY : Math.floor(Date.parse(job.notAfter) / 1000);
  return { iat, exp: Math.min(iat + validSeconds, jobEnd), validSeconds };
}

/**
 * A reservation whose request died between reserving and recording its authorization is
 * rolled back once it is older than this: far beyond the function's timeout, so its owner is
 * certainly gone.
 */
export const STALE_RESERVATION_MS = 60_000;

export function isStaleReservation(createdAtSeconds: number, now: Date, staleAfterMs = STALE_RESERVATION_MS): boolean {
  return now.getTime() - createdAtSeconds * 1000 >= staleAfterMs;
}
