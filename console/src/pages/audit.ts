import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import { type AuditFilter, NO_AUDIT_FILTER, actionsOf, matchesAudit } from '../audit-filter.js';
import { ErrorNotice } from '../components/error-notice.js';
import { Timestamp } from '../components/time-ago.js';
import { useConsole, usePagedList } from '../hooks.js';
import { toLocalInput } from '../restrictions.js';

/**
 * A page at a time: the trail only grows, so it is paged rather than polled. Newest first; with
 * "From" the API reads oldest first from that time. Actor, action and target filter the
 * records loaded so far; "Load more" reads further.
 */
export function AuditPage() {
  const { api } = useConsole();
  const [filter, setFilter] = useState<AuditFilter>(NO_AUDIT_FILTER);
  const [from, setFrom] = useState('');
  const { items: records, cursor, error, busy, load } = usePagedList((after) => api.call(contract.listAudit, { query: { limit: 50, cursor: after, since: from ? new Date(from).toISOString() : undefined } }));

  useEffect(() => {
    void load();
  }, [from]);

  const shown = (records ?? []).filter((record) => matchesAudit(record, filter));
  const text = (key: keyof AuditFilter) => (event: Event) => setFilter({ ...filter, [key]: (event.target as HTMLInputElement).value });

  return html`
    <h1>Audit trail</h1>
    <form class="filters" role="search" aria-label="Filter the audit trail" onSubmit=${(event: Event) => event.preventDefault()}>
      <label>From <input type="datetime-local" value=${from} max=${toLocalInput(new Date().toISOString())} onChange=${(event: Event) => setFrom((event.target as HTMLInputElement).value)} /></label>
      <label>Who <input type="search" value=${filter.actor} placeholder="key:…, programmer:…" onInput=${text('actor')} /></label>
      <label>Action <select value=${filter.action} onChange=${text('action')}>
        <option value="">Any action</option>
        ${actionsOf(records ?? []).map((action) => html`<option value=${action}>${action}</option>`)}
      </select></label>
      <label>Target <input type="search" value=${filter.target} placeholder="job, factory, an id…" onInput=${text('target')} /></label>
      <button type="button" onClick=${() => { setFilter(NO_AUDIT_FILTER); setFrom(''); }}>Clear filters</button>
      <button type="button" onClick=${() => load()} disabled=${busy}>Refresh</button>
    </form>
    <${ErrorNotice} error=${error} title="Could not load the audit trail" />
    ${records === undefined && !error && html`<p role="status">Loading…</p>`}
    ${records && records.length === 0 && html`<p class="empty">${from ? 'Nothing recorded since then.' : 'Nothing recorded yet.'}</p>`}
    ${records && records.length > 0 && html`<p class="help" role="status">${shown.length} of ${records.length} loaded entries match${cursor ? '; load more to search further back' : ''}.</p>`}
    ${shown.length > 0 &&
    html`<table class="audit">
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
    </table>`}
    ${cursor && html`<button type="button" onClick=${() => load(cursor)} disabled=${busy}>${from ? 'Load later entries' : 'Load older entries'}</button>`}
  `;
}
