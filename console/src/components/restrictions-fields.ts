import { html } from 'htm/preact';
import { type RestrictionsDraft, autoPauseProblem } from '../restrictions.js';

/**
 * The restrictions of a job as form fields, shared by image registration and the job page's
 * editor. `idPrefix` keeps label/input pairs unique when both are on one page.
 */
export function RestrictionsFields({ draft, onChange, idPrefix, editing, checked = false }: { draft: RestrictionsDraft; onChange: (draft: RestrictionsDraft) => void; idPrefix: string; editing: boolean; checked?: boolean }) {
  // After a submit (`checked`), the field the form refused is marked for assistive technology.
  const invalid = checked ? autoPauseProblem(draft)?.field : undefined;
  const field = (key: keyof RestrictionsDraft, label: string, attributes: Record<string, string>, help?: string) => {
    const id = `${idPrefix}-${key}`;
    return html`<label for=${id}>${label}</label>
      <input
        id=${id}
        name=${key}
        value=${draft[key]}
        ...${attributes}
        aria-describedby=${help ? `${id}-help` : undefined}
        aria-invalid=${invalid === key ? 'true' : undefined}
        onInput=${(event: Event) => onChange({ ...draft, [key]: (event.target as HTMLInputElement).value })}
      />
      ${help && html`<p id=${`${id}-help`} class="help">${help}</p>`}`;
  };
  return html`<fieldset class="grid-form">
    <legend>Restrictions</legend>
    ${field('maxCount', 'Maximum count', { type: 'number', min: '1', step: '1' }, editing ? 'Units that may be authorized in this run; empty keeps the current value.' : 'Units that may be authorized; empty: no limit.')}
    ${field('notBefore', 'Not before', { type: 'datetime-local' }, 'Your local time.')}
    ${field('notAfter', 'Not after', { type: 'datetime-local' }, 'Your local time.')}
    ${field('maxLeaseSeconds', 'Longest lease (s)', { type: 'number', min: '60', step: '1' }, 'How long a programmer may hold units; default 600.')}
    ${field('autoPausePercent', 'Auto-pause at failure rate (%)', { type: 'number', min: '0', max: '100', step: 'any' }, editing ? 'Empty (both): no guardrail.' : undefined)}
    ${field('autoPauseMinUnits', 'Auto-pause after at least (units)', { type: 'number', min: '1', step: '1' })}
  </fieldset>`;
}
