/**
 * Pure rules of jobs: effective status, transitions, limits, dates and serial numbers. No I/O:
 * the store feeds it what it read, and enforces the same limits again in its conditional writes.
 */
import { ConflictError } from './errors.js';

export type StoredJobStatus = 'active' | 'paused' | 'deleted';
export type JobStatus = StoredJobStatus | 'completed' | 'expired';

export interface JobState {
  status: StoredJobStatus;
  maxCount: number | null;
  notBefore: string | null;
  notAfter: string | null;
  run: number;
  /** Units authorized in the current run. */
  authorized: number;
}

export function remainingUnits(job: Pick<JobState, 'maxCount' | 'authorized'>): number | null {
  return job.maxCount === null ? null : Math.max(0, job.maxCount - job.authorized);
}

/** What a person sees: `completed` once the limit is used up, `expired` after `notAfter`. */
export function effectiveStatus(job: JobState, now: Date): JobStatus {
  if (job.status === 'deleted') return 'deleted';
  if (job.notAfter !== null && now.getTime() > Date.parse(job.notAfter)) return 'expired';
  if (job.maxCount !== null && job.authorized >= job.maxCount) return 'completed';
  return job.status;
}

export type JobAction = 'pause' | 'resume' | 'restart' | 'delete';
export const JOB_ACTIONS: readonly JobAction[] = ['pause', 'resume', 'restart', 'delete'];

/** Which actions apply in which (effective) status: the API, the CLI and the console all read this table. */
const ALLOWED_FROM: Record<JobAction, readonly JobStatus[]> = {
  pause: ['active'],
  resume: ['paused'],
  // An expired job cannot run again: its dates are over; restarting it would only reset counters.
  restart: ['active', 'paused', 'completed'],
  delete: ['active', 'paused', 'completed', 'expired'],
};

export function actionAllowed(status: JobStatus, action: JobAction): boolean {
  return ALLOWED_FROM[action].includes(status);
}

/** The actions an operator may take on a job in this status, in menu order. */
export function availableActions(status: JobStatus): JobAction[] {
  return JOB_ACTIONS.filter((action) => actionAllowed(status, action));
}

/** The stored status after an action, or a 409 invalid_transition naming the current status. */
export function applyTransition(job: JobState, action: JobAction, now: Date): StoredJobStatus {
  const current = effectiveStatus(job, now);
  if (!actionAllowed(current, action)) {
    throw new ConflictError('invalid_transition', `Cannot ${action} a job that is ${current}`, { status: current, action });
  }
  return action === 'pause' ? 'paused' : action === 'delete' ? 'deleted' : 'active';
}

/** Why a programmer may not program `units` units of this job now, as the contract's 409 code. */
export function authorizationRefusal(job: JobState, units: number, now: Date): ConflictError | undefined {
  if (job.status === 'deleted') return new ConflictError('job_deleted', 'This job has been deleted');
  if (job.notBefore !== null && now.getTime() < Date.parse(job.notBefore)) {
    return new ConflictError('job_not_started', `This job starts at ${job.notBefore}`, { notBefore: job.notBefore });
  }
  if (job.notAfter !== null && now.getTime() > Date.parse(job.notAfter)) {
    return new ConflictError('job_expired', `This job ended at ${job.notAfter}`, { notAfter: job.notAfter });
  }
  if (job.status === 'paused') return new ConflictError('job_paused', 'This job is paused');
  const remaining = remainingUnits(job);
  if (remaining !== null && units > remaining) {
    return new ConflictError(
      'job_completed',
      remaining === 0 ? 'The count limit of this job is used up' : `Only ${remaining} unit(s) remain in this job`,
      { remaining },
    );
  }
  return undefined;
}

/**
 * Why a programmer may not download this job's image now. Unlike an authorization, a job that
 * has not started yet may be downloaded: lines stage their images before the start date.
 */
export function downloadRefusal(job: JobState, now: Date): ConflictError | undefined {
  const status = effectiveStatus(job, now);
  if (status === 'deleted') return new ConflictError('job_deleted', 'This job has been deleted');
  if (status === 'expired') return new ConflictError('job_expired', `This job ended at ${job.notAfter}`, { notAfter: job.notAfter });
  if (status === 'completed') return new ConflictError('job_completed', 'The count limit of this job is used up', { remaining: 0 });
  if (status === 'paused') return new ConflictError('job_paused', 'This job is paused');
  return undefined;
}

export interface SerialRule {
  start: number;
  step: number;
  format: string;
}

export const DEFAULT_SERIAL_FORMAT = 'SN-{n:08}';

/** The longest serial we hand out: it travels in tickets, results and device memory. */
export const MAX_SERIAL_LENGTH = 64;

function formatSerial(rule: SerialRule, value: number): string {
  return rule.format.replace(/\{n(?::(0?)(\d{1,2}))?\}/g, (_match, _zero: string | undefined, width: string | undefined) =>
    width ? String(value).padStart(Number(width), '0') : String(value),
  );
}

/** The serial of the index-th unit ever authorized in a job (indexes never reset, so serials never repeat). */
export function serialAt(rule: SerialRule, index: number): string {
  return formatSerial(rule, rule.start + index * rule.step);
}

/** Beyond 2^53 numbers lose precision and two indexes could print the same serial. */
export function serialIndexIsSafe(rule: SerialRule, index: number): boolean {
  return rule.start + index * rule.step <= Number.MAX_SAFE_INTEGER;
}

/**
 * Serials `units` units from `firstIndex` on, or a 409 when the rule cannot number them without
 * losing precision (a job restarted so often that its numbers ran out).
 */
export function serialRange(rule: SerialRule, firstIndex: number, units: number): string[] {
  if (!serialIndexIsSafe(rule, firstIndex + units - 1)) {
    throw new ConflictError('serials_exhausted', 'This job has used up the serial numbers its settings can express', { nextIndex: firstIndex });
  }
  return Array.from({ length: units }, (_, i) => serialAt(rule, firstIndex + i));
}

/**
 * Units a job without a count limit is assumed to need when its serial settings are checked at
 * registration: 2^32, a billion units more than any production line runs.
 */
export const UNLIMITED_JOB_UNITS = 2 ** 32;

/**
 * What is wrong with serial settings before a job starts: numbers beyond 2^53 (two indexes
 * could print the same serial) or serials longer than MAX_SERIAL_LENGTH for the units the job
 * may hand out.
 */
export function serialSettingsProblems(rule: SerialRule, maxCount: number | null): { path: string; message: string }[] {
  const units = maxCount ?? UNLIMITED_JOB_UNITS;
  const lastIndex = units - 1;
  if (!serialIndexIsSafe(rule, lastIndex)) {
    return [{ path: 'serials.start', message: `start + step × ${units} units exceeds 2^53; serials could repeat` }];
  }
  const longest = formatSerial(rule, rule.start + lastIndex * rule.step);
  if (longest.length > MAX_SERIAL_LENGTH) {
    return [{ path: 'serials.format', message: `produces serials up to ${longest.length} characters (at most ${MAX_SERIAL_LENGTH})` }];
  }
  return [];
}
