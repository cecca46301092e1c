import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { AuditRecord, FlashlineApiError } from '../api.js';
import { ErrorNotice } from '../components/error-notice.js';
import { Timestamp } from '../components/time-ago.js';
import { asApiError, useConsole } from '../hooks.js';

/** Newest first, a page at a time: the trail only grows, so it is paged rather than polled. */
export function AuditPage() {
  const { api } = useConsole();
  const [records, setRecords] = useState<AuditRecord[] | undefined>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<FlashlineApiError | undefined>();
  const [busy, setBusy] = useState(false);

  const load = async (from: string | undefined, replace: boolean) => {
    setBusy(true);
    try {
      const page = await api.call(contract.listAudit, { query: { limit: 50, cursor: from } });
      setRecords((previous) => (replace ? page.items : [...(previous ?? []), ...page.items]));
      setCursor(page.nextCursor);
      setError(undefined);
    } catch (problem) {
      setError(asApiError(problem));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    void load(undefined, true);
  }, []);

  return html`
    <h1>Audit trail</h1>
    <div class="toolbar"><button type="button" onClick=${() => load(undefined, true)} disabled=${busy}>Refresh</button></div>
    <${ErrorNotice} error=${error} title="Could not load the audit trail" />
    ${records === undefined && !error && html`<p role="status">Loading…</p>`}
    ${records && records.length === 0 && html`<p class="empty">Nothing recorded yet.</p>`}
    ${records &&
    records.length > 0 &&
    html`<table class="audit">
      <caption class="visually-hidden">Audit trail, newest first</caption>
      <thead>
        <tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Details</th></tr>
      </thead>
      <tbody>
        ${records.map(
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
    ${cursor && html`<button type="button" onClick=${() => load(cursor, false)} disabled=${busy}>Load older entries</button>`}
  `;
}
