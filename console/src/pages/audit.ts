import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import { AUDIT_ACTIONS, type AuditAction, isAuditFilterActive } from '../../../shared/domain/audit.js';
import { ErrorNotice } from '../components/error-notice.js';
import { Timestamp } from '../components/time-ago.js';
import { useConsole, usePagedList } from '../hooks.js';
import { can, needsNote } from '../permissions.js';
import { toLocalInput } from '../restrictions.js';
import { TableScroll } from '../components/table-scroll.js';

/** What the reader typed and chose; text boxes reach the API a moment after the last key. */
interface Filters {
  actor: string;
  action: AuditAction | '';
  target: string;
}

const NO_FILTERS: Filters = { actor: '', action: '', target: '' };
const TYPING_PAUSE_MS = 400;

/**
 * A page at a time: the trail only grows, so it is paged rather than polled. Newest first; with
 * "From" the API reads oldest first from that time. Who, action and target are sent to the API,
 * which filters the whole trail (a page of matches, and "Load more" searches further back).
 */
export function AuditPage() {
  const { caller } = useConsole();
  if (!can(caller, contract.listAudit)) {
    return html`<h1>Audit trail</h1>
      <p class="empty">${needsNote(caller, contract.listAudit, 'reads the audit trail')}</p>`;
  }
  return html`<${AuditTrail} />`;
}

function AuditTrail() {
  const { api } = useConsole();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filter, setFilter] = useState<Filters>(NO_FILTERS);
  const [from, setFrom] = useState('');
  const { items: records, cursor, error, busy, load } = usePagedList((after) =>
    api.call(contract.listAudit, {
      query: {
        limit: 50,
        cursor: after,
        since: from ? new Date(from).toISOString() : undefined,
        actor: filter.actor.trim() || undefined,
        action: filter.action || undefined,
        target: filter.target.trim() || undefined,
      },
    }),
  );

  // The action applies at once; text waits for a pause in typing.
  useEffect(() => {
    const timer = setTimeout(() => setFilter(draft), draft.action !== filter.action ? 0 : TYPING_PAUSE_MS);
    return () => clearTimeout(timer);
  }, [draft.actor, draft.action, draft.target]);

  useEffect(() => {
    void load();
  }, [from, filter.actor, filter.action, filter.target]);

  const filtered = isAuditFilterActive({ ...filter, action: filter.action || undefined });
  const shown = records ?? [];
  const text = (key: 'actor' | 'target') => (event: Event) => setDraft({ ...draft, [key]: (event.target as HTMLInputElement).value });

  return html`
    <h1>Audit trail</h1>
    <form class="filters" role="search" aria-label="Filter the audit trail" onSubmit=${(event: Event) => event.preventDefault()}>
      <label>From <input type="datetime-local" value=${from} max=${toLocalInput(new Date().toISOString())} onChange=${(event: Event) => setFrom((event.target as HTMLInputElement).value)} /></label>
      <label>Who <input type="search" value=${draft.actor} placeholder="key:…, programmer:…" onInput=${text('actor')} /></label>
      <label>Action <select value=${draft.action} onChange=${(event: Event) => setDraft({ ...draft, action: (event.target as HTMLSelectElement).value as AuditAction | '' })}>
        <option value="">Any action</option>
        ${AUDIT_ACTIONS.map((action) => html`<option value=${action}>${action}</option>`)}
      </select></label>
      <label>Target <input type="search" value=${draft.target} placeholder="job, factory, an id…" onInput=${text('target')} /></label>
      <button type="button" onClick=${() => { setDraft(NO_FILTERS); setFilter(NO_FILTERS); setFrom(''); }}>Clear filters</button>
      <button type="button" onClick=${() => load()} disabled=${busy}>Refresh</button>
    </form>
    <${ErrorNotice} error=${error} title="Could not load the audit trail" />
    ${records === undefined && !error && html`<p role="status">Loading…</p>`}
    ${records && records.length === 0 && !filtered && html`<p class="empty">${from ? 'Nothing recorded since then.' : 'Nothing recorded yet.'}</p>`}
    ${records && filtered && html`<p class="help" role="status">${shown.length} matching ${shown.length === 1 ? 'entry' : 'entries'} found${cursor ? '; search further back for more' : ' in the whole trail'}.</p>`}
    ${shown.length > 0 &&
    html`<${TableScroll} label="Audit trail"><table class="audit">
      <caption class="visually-hidden">Audit trail, ${from ? 'oldest first from the chosen time' : 'newest first'}</caption>
      <thead>
        <tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Details</th></tr>
      </thead>
      <tbody>
        ${shown.map(
          (record) => html`<tr key=${record.auditId}>
            <td><${Timestamp} at=${record.at} /></td>
            <td><code>${record.actor}</code></td>
            <td>${record.action}</td>
            <td>${record.target.type} <code>${record.target.id}</code></td>
            <td>${Object.keys(record.details).length > 0 && html`<code class="details">${JSON.stringify(record.details)}</code>`}</td>
          </tr>`,
        )}
      </tbody>
    </table><//>`}
    ${cursor && html`<button type="button" onClick=${() => load(cursor)} disabled=${busy}>${filtered ? 'Search further' : from ? 'Load later entries' : 'Load older entries'}</button>`}
  `;
}
