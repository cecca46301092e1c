import type { Factory, Job, Programmer } from './api.js';

/**
 * What the dashboard shows, worked out from the lists the API returns: pure functions, so the
 * rules (when a programmer counts as offline, when a job is near its limit) are unit-tested.
 */

/** A factory that set no `programmerOfflineMinutes` still gets an answer: silent this long = offline. */
export const DEFAULT_OFFLINE_MINUTES = 15;
/** A job is near its limit when at most this share of its maximum count is left. */
export const NEAR_LIMIT_SHARE = 0.1;

export type Presence = 'online' | 'offline' | 'never seen' | 'disabled';

export function presenceOf(programmer: Programmer, offlineMinutes: number | null, now: number): Presence {
  if (programmer.status === 'disabled') return 'disabled';
  if (!programmer.lastSeenAt) return 'never seen';
  const silentMs = now - Date.parse(programmer.lastSeenAt);
  return silentMs <= (offlineMinutes ?? DEFAULT_OFFLINE_MINUTES) * 60_000 ? 'online' : 'offline';
}

export interface FactorySummary {
  factory: Factory;
  succeeded: number;
  failed: number;
  /** succeeded / (succeeded + failed) over the current runs of its jobs; null before any result. */
  yield: number | null;
  online: number;
  offline: number;
  /** Never seen, or disabled: neither online nor offline (neverSeen + disabled). */
  idle: number;
  /** Active but never called the API yet. */
  neverSeen: number;
  disabled: number;
  activeJobs: number;
}

export function summarizeFactories(factories: Factory[], jobs: Job[], programmers: Programmer[], now: number): FactorySummary[] {
  return factories.map((factory) => {
    const own = jobs.filter((job) => job.factoryId === factory.factoryId && job.status !== 'deleted');
    const succeeded = own.reduce((sum, job) => sum + job.counters.succeeded, 0);
    const failed = own.reduce((sum, job) => sum + job.counters.failed, 0);
    const presences = programmers.filter((p) => p.factoryId === factory.factoryId).map((p) => presenceOf(p, factory.programmerOfflineMinutes, now));
    return {
      factory,
      succeeded,
      failed,
      yield: succeeded + failed === 0 ? null : succeeded / (succeeded + failed),
      online: presences.filter((presence) => presence === 'online').length,
      offline: presences.filter((presence) => presence === 'offline').length,
      idle: presences.filter((presence) => presence === 'never seen' || presence === 'disabled').length,
      neverSeen: presences.filter((presence) => presence === 'never seen').length,
      disabled: presences.filter((presence) => presence === 'disabled').length,
      activeJobs: own.filter((job) => job.status === 'active').length,
    };
  });
}

/** Jobs still running (active or paused) with a count limit and at most NEAR_LIMIT_SHARE of it left, fewest left first. */
export function jobsNearLimit(jobs: Job[]): Job[] {
  return jobs
    .filter((job) => (job.status === 'active' || job.status === 'paused') && job.restrictions.maxCount !== null && job.counters.remaining !== null)
    .filter((job) => job.counters.remaining! <= Math.max(1, Math.floor(job.restrictions.maxCount! * NEAR_LIMIT_SHARE)))
    .sort((a, b) => a.counters.remaining! - b.counters.remaining!);
}

/** Midnight of the viewer's own day: "today" is the operator's day, not UTC's. */
export function startOfToday(now: number): Date {
  const day = new Date(now);
  day.setHours(0, 0, 0, 0);
  return day;
}
