import { ConflictError, NotFoundError, UnauthenticatedError } from '../domain/errors.js';
import { type Db, getItems, nowIso } from './db.js';
import { type JobRecord, toJobRecord } from './jobs.js';
import { keys } from './keys.js';
import { type ProgrammerView, toProgrammerView, touchProgrammerLastSeen } from './programmers.js';

/**
 * The programmer and (optionally) one job, read together, with the checks every device route
 * shares: the programmer still exists and is active, the job exists in its account, is not
 * deleted, and belongs to the programmer's factory.
 */
export async function loadDeviceContext(db: Db, accountId: string, programmerId: string, jobId?: string): Promise<{ programmer: ProgrammerView; job?: JobRecord }> {
  const programmerKey = keys.programmer(accountId, programmerId);
  const jobKey = jobId ? keys.job(accountId, jobId) : undefined;
  const [programmerItem, jobItem] = await getItems(db, db.table, jobKey ? [programmerKey, jobKey] : [programmerKey], true);
  const programmer = activeProgrammer(programmerItem);
  if (!jobKey) return { programmer };
  if (!jobItem) throw new NotFoundError('Job');
  const job = toJobRecord(jobItem);
  if (job.status === 'deleted') throw new ConflictError('job_deleted', 'This job has been deleted');
  if (job.factoryId !== programmer.factoryId) {
    throw new ConflictError('wrong_factory', "This job belongs to another factory than this programmer's", { programmerFactoryId: programmer.factoryId });
  }
  return { programmer, job };
}

/** The calling programmer as read, refused unless it still exists and is active. */
export function activeProgrammer(item: Record<string, unknown> | undefined): ProgrammerView {
  // Deprovisioned while the authorizer still caches its token: the token is no longer valid.
  if (!item) throw new UnauthenticatedError('These programmer credentials are no longer valid');
  const programmer = toProgrammerView(item);
  if (programmer.status !== 'active') throw new ConflictError('programmer_disabled', 'This programmer is disabled');
  return programmer;
}

/** Per container: when each programmer's lastSeenAt was last written, so the hot path writes it at most once a minute. */
const lastTouched = new Map<string, number>();

export async function notePresence(db: Db, accountId: string, programmerId: string): Promise<void> {
  const key = `${accountId}/${programmerId}`;
  const now = Date.now();
  if (now - (lastTouched.get(key) ?? 0) < 60_000) return;
  lastTouched.set(key, now);
  if (lastTouched.size > 10_000) lastTouched.clear();
  await touchProgrammerLastSeen(db, accountId, programmerId, nowIso());
}
