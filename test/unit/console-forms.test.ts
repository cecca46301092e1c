import { describe, expect, it } from 'vitest';
import type { AuditRecord, Factory, Job, Programmer } from '../../console/src/api.js';
import { AUDIT_ACTIONS, type AuditAction, isAuditFilterActive, matchesAudit } from '../../shared/domain/audit.js';
import { DEFAULT_OFFLINE_MINUTES, jobsNearLimit, presenceOf, summarizeFactories } from '../../console/src/dashboard-figures.js';
import { changedRestrictions, draftOf, restrictionsOf, toLocalInput } from '../../console/src/restrictions.js';
import { NAV, href, parseRoute } from '../../console/src/router.js';
import { parseKeyIds } from '../../console/src/pages/programmers.js';
import { can } from '../../console/src/permissions.js';
import { WEBHOOK_EVENT_TYPES, describeEvents, lastAttemptOutcome, subscribesToAll, toggleEventType } from '../../console/src/webhook-events.js';
import { EVENT_TYPES } from '../../shared/domain/events.js';
import { credentialsFileName } from '../../shared/domain/credentials-file-name.js';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const minutesAgo = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();

function programmer(overrides: Partial<Programmer>): Programmer {
  return { programmerId: 'prg_1', name: 'P', hardwareSerial: 'HW', factoryId: 'fac_a', status: 'active', encryptionKeyIds: [], groupIds: [], createdAt: minutesAgo(600), updatedAt: minutesAgo(600), lastSeenAt: null, ...overrides };
}

function factory(overrides: Partial<Factory>): Factory {
  return { factoryId: 'fac_a', name: 'A', isDefault: false, programmerCount: 0, openJobCount: 0, programmerOfflineMinutes: null, createdAt: minutesAgo(600), updatedAt: minutesAgo(600), ...overrides };
}

function job(overrides: { jobId: string; factoryId?: string; status?: Job['status']; maxCount?: number | null; authorized?: number; succeeded?: number; failed?: number }): Job {
  const maxCount = overrides.maxCount ?? null;
  const authorized = overrides.authorized ?? 0;
  return {
    jobId: overrides.jobId,
    imageId: 'img_1',
    factoryId: overrides.factoryId ?? 'fac_a',
    name: overrides.jobId,
    status: overrides.status ?? 'active',
    restrictions: { maxCount, notBefore: null, notAfter: null, maxLeaseSeconds: 600, autoPause: null },
    counters: { authorized, succeeded: overrides.succeeded ?? 0, failed: overrides.failed ?? 0, returned: 0, remaining: maxCount === null ? null : maxCount - authorized },
  } as unknown as Job;
}

describe('the dashboard figures', () => {
  it("counts a programmer online within its factory's offline minutes, else the default", () => {
    expect(presenceOf(programmer({ lastSeenAt: minutesAgo(4) }), 5, NOW)).toBe('online');
    expect(presenceOf(programmer({ lastSeenAt: minutesAgo(6) }), 5, NOW)).toBe('offline');
    expect(presenceOf(programmer({ lastSeenAt: minutesAgo(DEFAULT_OFFLINE_MINUTES - 1) }), null, NOW)).toBe('online');
    expect(presenceOf(programmer({ lastSeenAt: minutesAgo(DEFAULT_OFFLINE_MINUTES + 1) }), null, NOW)).toBe('offline');
    expect(presenceOf(programmer({ lastSeenAt: null }), 5, NOW)).toBe('never seen');
    expect(presenceOf(programmer({ status: 'disabled', lastSeenAt: minutesAgo(1) }), 5, NOW)).toBe('disabled');
  });

  it('sums yield and presence per factory, leaving deleted jobs and other factories out', () => {
    const [a, b] = summarizeFactories(
      [factory({ factoryId: 'fac_a', programmerOfflineMinutes: 10 }), factory({ factoryId: 'fac_b' })],
      [job({ jobId: 'j1', succeeded: 9, failed: 1 }), job({ jobId: 'j2', succeeded: 6, failed: 4 }), job({ jobId: 'j3', status: 'deleted', succeeded: 100 }), job({ jobId: 'j4', factoryId: 'fac_b' })],
      [programmer({ lastSeenAt: minutesAgo(2) }), programmer({ lastSeenAt: minutesAgo(30) }), programmer({}), programmer({ factoryId: 'fac_b', lastSeenAt: minutesAgo(1) })],
      NOW,
    );
    expect(a).toMatchObject({ succeeded: 15, failed: 5, yield: 0.75, online: 1, offline: 1, idle: 1, neverSeen: 1, disabled: 0, activeJobs: 2 });
    expect(b).toMatchObject({ succeeded: 0, failed: 0, yield: null, online: 1, offline: 0, activeJobs: 1 });
  });

  it('lists running jobs with at most a tenth of their count left, fewest first', () => {
    const near = jobsNearLimit([
      job({ jobId: 'far', maxCount: 100, authorized: 89 }),
      job({ jobId: 'tenth', maxCount: 100, authorized: 90 }),
      job({ jobId: 'last', maxCount: 10, authorized: 9, status: 'paused' }),
      job({ jobId: 'done', maxCount: 10, authorized: 10, status: 'completed' }),
      job({ jobId: 'unlimited', authorized: 1_000_000 }),
      job({ jobId: 'tiny', maxCount: 3, authorized: 1 }),
    ]);
    expect(near.map((j) => j.jobId)).toEqual(['last', 'tenth']);
  });
});

describe('the restrictions form', () => {
  it('sends only what was typed, dates as instants, the guardrail in fractions', () => {
    const draft = { ...draftOf(undefined), maxCount: '500', notAfter: '2030-01-01T10:00', autoPausePercent: '12.5', autoPauseMinUnits: '40' };
    expect(restrictionsOf(draft, { clearAutoPause: false })).toEqual({ maxCount: 500, notAfter: new Date('2030-01-01T10:00').toISOString(), autoPause: { failureRate: 0.125, minUnits: 40 } });
    expect(restrictionsOf(draftOf(undefined), { clearAutoPause: false })).toEqual({});
  });

  it('sends a half-filled guardrail so that the API names the missing field (null), and clears an emptied one when editing', () => {
    const half = restrictionsOf({ ...draftOf(undefined), autoPausePercent: '10' }, { clearAutoPause: false });
    expect(JSON.parse(JSON.stringify(half))).toEqual({ autoPause: { failureRate: 0.1, minUnits: null } });
    expect(restrictionsOf(draftOf(undefined), { clearAutoPause: true })).toEqual({ autoPause: null });
  });

  it('edits only the fields that changed, so an untouched date keeps its seconds', () => {
    const stored = { maxCount: 100, notBefore: null, notAfter: '2030-01-01T10:00:45.000Z', maxLeaseSeconds: 600, autoPause: { failureRate: 0.2, minUnits: 10 } };
    const original = draftOf(stored);
    expect(original).toMatchObject({ maxCount: '100', notAfter: toLocalInput(stored.notAfter), maxLeaseSeconds: '600', autoPausePercent: '20', autoPauseMinUnits: '10' });
    expect(changedRestrictions(original, { ...original, maxCount: '90' })).toEqual({ maxCount: 90 });
    expect(changedRestrictions(original, { ...original, autoPausePercent: '', autoPauseMinUnits: '' })).toEqual({ autoPause: null });
    expect(changedRestrictions(original, original)).toEqual({});
  });
});

describe('the audit filters (shared/domain/audit.ts: the API applies them, the console offers them)', () => {
  const record = (actor: string, action: string, target: { type: string; id: string }, details: Record<string, unknown> = {}): AuditRecord => ({ auditId: `${actor}${action}${target.id}`, at: minutesAgo(1), actor, action, target, details });
  const records = [record('key:key_1', 'job.pause', { type: 'job', id: 'job_7' }), record('programmer:prg_2', 'factory.create', { type: 'factory', id: 'fac_9' }, { name: 'East Coast' })];

  it('match by actor (part of it), action (exactly) and target (type, id or a details value), any case', () => {
    expect(records.filter((r) => matchesAudit(r, {}))).toHaveLength(2);
    expect(records.filter((r) => matchesAudit(r, { actor: 'KEY:' })).map((r) => r.action)).toEqual(['job.pause']);
    expect(records.filter((r) => matchesAudit(r, { action: 'job.pause' }))).toHaveLength(1);
    expect(records.filter((r) => matchesAudit(r, { action: 'job.resume' }))).toHaveLength(0);
    expect(records.filter((r) => matchesAudit(r, { target: 'east coast' })).map((r) => r.target.id)).toEqual(['fac_9']);
    expect(records.filter((r) => matchesAudit(r, { target: 'job_7', actor: 'programmer' }))).toHaveLength(0);
    // Blank text narrows nothing (the API takes what its schema allows, a space included).
    expect(records.filter((r) => matchesAudit(r, { actor: ' ', target: '\u00a0' }))).toHaveLength(2);
    expect(isAuditFilterActive({ actor: ' ' })).toBe(false);
    expect(isAuditFilterActive({ action: 'job.pause' })).toBe(true);
  });

  it('name every action the store writes: each is `{entity}.{verb}` and listed once', () => {
    expect(new Set(AUDIT_ACTIONS).size).toBe(AUDIT_ACTIONS.length);
    for (const action of AUDIT_ACTIONS) expect(action).toMatch(/^[a-z][A-Za-z_]*\.[a-z]+$/);
    // Every job transition is recorded under its own action (store/jobs.ts writes `job.${action}`).
    const transitions: AuditAction[] = ['job.pause', 'job.resume', 'job.restart', 'job.delete'];
    for (const action of transitions) expect(AUDIT_ACTIONS).toContain(action);
  });
});

describe('console forms and navigation', () => {
  it('reads encryption key ids separated by commas or spaces', () => {
    expect(parseKeyIds(' key-a, key-b  key-c,, ')).toEqual(['key-a', 'key-b', 'key-c']);
    expect(parseKeyIds('  ')).toEqual([]);
  });

  it('names a downloaded credentials file after the programmer, as the CLI does', () => {
    expect(credentialsFileName('Line 3 (east)')).toBe('line-3-east.credentials.json');
    expect(credentialsFileName('***')).toBe('credentials.credentials.json');
  });

  it('has a nav entry that parses back to each of its pages', () => {
    for (const entry of NAV) expect(entry.pages).toContain(parseRoute(entry.href).page);
    expect(parseRoute(href.publish('fac 1'))).toEqual({ page: 'publish', factoryId: 'fac 1' });
  });
});

describe('the webhooks page', () => {
  it('offers exactly the event types the API accepts, ticked on and off in their order', () => {
    expect(WEBHOOK_EVENT_TYPES).toEqual(EVENT_TYPES);
    const chosen = toggleEventType(toggleEventType([], 'image.rejected', true), 'job.paused', true);
    expect(chosen).toEqual(['job.paused', 'image.rejected']);
    expect(toggleEventType(chosen, 'job.paused', false)).toEqual(['image.rejected']);
    expect(toggleEventType(chosen, 'job.paused', true)).toEqual(chosen);
  });

  it('calls a subscription to every type "All events" and lists a partial one', () => {
    expect(subscribesToAll([...EVENT_TYPES])).toBe(true);
    expect(describeEvents([...EVENT_TYPES])).toBe(`All events (${EVENT_TYPES.length})`);
    expect(subscribesToAll(EVENT_TYPES.slice(1))).toBe(false);
    expect(describeEvents(['job.paused', 'job.resumed'])).toBe('job.paused, job.resumed');
  });

  it("words a delivery's last attempt: the receiver's status, else why none came", () => {
    const attempt = (status: number | null, error: string | null) => ({ at: '2026-11-27T12:00:00Z', status, error, durationMs: 3 });
    expect(lastAttemptOutcome({ attempts: [] })).toBe('not attempted yet');
    expect(lastAttemptOutcome({ attempts: [attempt(500, null), attempt(204, null)] })).toBe('HTTP 204');
    expect(lastAttemptOutcome({ attempts: [attempt(null, 'timed out after 5000 ms')] })).toBe('timed out after 5000 ms');
    expect(lastAttemptOutcome({ attempts: [attempt(null, null)] })).toBe('no answer');
  });

  it('is a route of its own whose nav entry only admins see', () => {
    expect(parseRoute(href.webhooks())).toEqual({ page: 'webhooks' });
    const entry = NAV.find((candidate) => candidate.pages.includes('webhooks'));
    expect(entry?.label).toBe('Webhooks');
    const offered = (['viewer', 'operator', 'author', 'admin'] as const).filter((role) => can({ via: 'key', keyId: 'key_1', role }, entry!.needs));
    expect(offered).toEqual(['admin']);
  });
});
