import type { Job } from './api.js';

/**
 * The restrictions form as typed (strings, as inputs hold them) and its conversion to the
 * contract's body. The API validates and names a bad field; this only maps empty to "not
 * given" and the browser's local date-times to ISO instants.
 */
export interface RestrictionsDraft {
  maxCount: string;
  notBefore: string;
  notAfter: string;
  maxLeaseSeconds: string;
  /** Percent, 0–100: operators think of yield in percent. */
  autoPausePercent: string;
  autoPauseMinUnits: string;
}

export interface RestrictionsInput {
  maxCount?: number;
  notBefore?: string;
  notAfter?: string;
  maxLeaseSeconds?: number;
  autoPause?: { failureRate: number; minUnits: number } | null;
}

/** `2026-03-01T08:30` in the viewer's zone, as <input type="datetime-local"> holds it. */
export function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function draftOf(restrictions: Job['restrictions'] | undefined): RestrictionsDraft {
  return {
    maxCount: restrictions?.maxCount == null ? '' : String(restrictions.maxCount),
    notBefore: toLocalInput(restrictions?.notBefore ?? null),
    notAfter: toLocalInput(restrictions?.notAfter ?? null),
    maxLeaseSeconds: restrictions ? String(restrictions.maxLeaseSeconds) : '',
    autoPausePercent: restrictions?.autoPause ? String(Math.round(restrictions.autoPause.failureRate * 1000) / 10) : '',
    autoPauseMinUnits: restrictions?.autoPause ? String(restrictions.autoPause.minUnits) : '',
  };
}

const numberOrUndefined = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));
const instantOrUndefined = (text: string): string | undefined => {
  if (text.trim() === '') return undefined;
  const date = new Date(text);
  // An unreadable date goes to the API as typed, so its refusal names the field.
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
};

/**
 * The guardrail takes both numbers or neither: one typed without the other is said in the
 * form's words before anything is sent (the API would name a schema path twice over).
 */
export function autoPauseProblem(draft: RestrictionsDraft): { field: 'autoPausePercent' | 'autoPauseMinUnits'; message: string } | undefined {
  const rate = draft.autoPausePercent.trim() !== '';
  const minUnits = draft.autoPauseMinUnits.trim() !== '';
  if (rate === minUnits) return undefined;
  return rate
    ? { field: 'autoPauseMinUnits', message: 'Auto-pause needs both numbers: fill in "Auto-pause after at least (units)" too, or empty the failure rate.' }
    : { field: 'autoPausePercent', message: 'Auto-pause needs both numbers: fill in "Auto-pause at failure rate (%)" too, or empty the units.' };
}

/**
 * `clearAutoPause`: when editing a job, empty guardrail fields remove the guardrail (null);
 * when registering, they mean none (left out).
 */
export function restrictionsOf(draft: RestrictionsDraft, options: { clearAutoPause: boolean }): RestrictionsInput {
  const rate = numberOrUndefined(draft.autoPausePercent);
  const minUnits = numberOrUndefined(draft.autoPauseMinUnits);
  const autoPause =
    rate === undefined && minUnits === undefined
      ? options.clearAutoPause
        ? null
        : undefined
      : // One of the two left empty goes as NaN, which JSON sends as null: the API's refusal names that field.
        { failureRate: rate === undefined ? Number.NaN : rate / 100, minUnits: minUnits ?? Number.NaN };
  const input: RestrictionsInput = {
    maxCount: numberOrUndefined(draft.maxCount),
    notBefore: instantOrUndefined(draft.notBefore),
    notAfter: instantOrUndefined(draft.notAfter),
    maxLeaseSeconds: numberOrUndefined(draft.maxLeaseSeconds),
    autoPause,
  };
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as RestrictionsInput;
}

const DRAFT_FIELDS_OF: Record<keyof RestrictionsInput, (keyof RestrictionsDraft)[]> = {
  maxCount: ['maxCount'],
  notBefore: ['notBefore'],
  notAfter: ['notAfter'],
  maxLeaseSeconds: ['maxLeaseSeconds'],
  autoPause: ['autoPausePercent', 'autoPauseMinUnits'],
};

/**
 * Only what the editor changed: the form shows times to the minute, so sending an untouched
 * `notAfter` back would move it to the start of its minute.
 */
export function changedRestrictions(original: RestrictionsDraft, draft: RestrictionsDraft): RestrictionsInput {
  const all = restrictionsOf(draft, { clearAutoPause: true });
  const changed = (Object.keys(DRAFT_FIELDS_OF) as (keyof RestrictionsInput)[]).filter((key) => DRAFT_FIELDS_OF[key].some((field) => original[field] !== draft[field]));
  return Object.fromEntries(changed.filter((key) => key in all).map((key) => [key, all[key]])) as RestrictionsInput;
}
