/**
 * Every action the audit trail records, one name per kind of change (`{entity}.{verb}`). The
 * store writes only these (AuditEntry.action), `GET /v1/audit?action=` accepts only these, and
 * the console offers them as its action filter.
 */
export const AUDIT_ACTIONS = [
  'account.create',
  'apiKey.create',
  'apiKey.revoke',
  'person.create',
  'person.update',
  'person.delete',
  'factory.create',
  'factory.rename',
  'factory.update',
  'factory.delete',
  'group.create',
  'group.delete',
  'programmer.provision',
  'programmer.update',
  'programmer.deprovision',
  'image.register',
  'job.update',
  'job.replace',
  'job.pause',
  'job.resume',
  'job.restart',
  'job.delete',
  'serial_pool.create',
  'mac_block.create',
  'data_list.create',
  'data_list.rows',
  'certificate_authority.create',
  'webhook.create',
  'webhook.delete',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** What a reader may narrow the trail to; an absent or blank text matches every record. */
export interface AuditFilter {
  /** Contained in the actor (`key:key_…`, `person:…`, `programmer:…`), any case. */
  actor?: string;
  action?: AuditAction;
  /** Contained in the target's type or id, or in any details value, any case. */
  target?: string;
}

export interface AuditRecordView {
  actor: string;
  action: string;
  target: { type: string; id: string };
  details: Record<string, unknown>;
}

const contains = (haystack: string, needle: string) => haystack.toLowerCase().includes(needle.trim().toLowerCase());

export function matchesAudit(record: AuditRecordView, filter: AuditFilter): boolean {
  if (filter.actor?.trim() && !contains(record.actor, filter.actor)) return false;
  if (filter.action && record.action !== filter.action) return false;
  if (filter.target?.trim()) {
    const values = [record.target.type, record.target.id, ...Object.values(record.details).map((value) => (typeof value === 'string' ? value : JSON.stringify(value)))];
    if (!values.some((value) => contains(value, filter.target!))) return false;
  }
  return true;
}

/** Whether the filter narrows anything: without one, a page is what the trail holds. */
export function isAuditFilterActive(filter: AuditFilter): boolean {
  return Boolean(filter.actor?.trim() || filter.action || filter.target?.trim());
}
