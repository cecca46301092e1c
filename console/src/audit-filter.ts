import type { AuditRecord } from './api.js';

/** The audit page's filters; empty strings match everything. */
export interface AuditFilter {
  actor: string;
  action: string;
  /** Matches the target's type or id, or any details value. */
  target: string;
}

export const NO_AUDIT_FILTER: AuditFilter = { actor: '', action: '', target: '' };

const contains = (haystack: string, needle: string) => haystack.toLowerCase().includes(needle.trim().toLowerCase());

export function matchesAudit(record: AuditRecord, filter: AuditFilter): boolean {
  if (filter.actor.trim() && !contains(record.actor, filter.actor)) return false;
  if (filter.action && record.action !== filter.action) return false;
  if (filter.target.trim()) {
    const values = [record.target.type, record.target.id, ...Object.values(record.details).map((value) => (typeof value === 'string' ? value : JSON.stringify(value)))];
    if (!values.some((value) => contains(value, filter.target))) return false;
  }
  return true;
}

/** The actions seen so far, for the action filter's choices. */
export function actionsOf(records: AuditRecord[]): string[] {
  return [...new Set(records.map((record) => record.action))].sort();
}
