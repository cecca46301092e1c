import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { ResponseOf } from '../../../shared/contract/route.js';
import type { FlashlineApiError } from '../api.js';
import { ErrorNotice } from '../components/error-notice.js';
import { Timestamp } from '../components/time-ago.js';
import { asApiError, useConsole } from '../hooks.js';
import { href, navigate } from '../router.js';
import { TableScroll } from '../components/table-scroll.js';

export type UnitLookupKind = 'serial' | 'mac' | 'uid';
type Story = ResponseOf<typeof contract.lookupUnits>['items'][number];

const KINDS: { kind: UnitLookupKind; label: string; example: string }[] = [
  { kind: 'serial', label: 'Serial pool value', example: 'e.g. SN00012345' },
  { kind: 'mac', label: 'MAC address', example: 'e.g. 00:1B:C5:00:00:2A' },
  { kind: 'uid', label: 'Chip UID', example: 'hex, e.g. 04A1B2C3D4E5F6' },
];

/** What a lookup that found nothing can and cannot mean, per kind: only indexed values are found (README "Traceability"). */
const NOT_FOUND: Record<UnitLookupKind, string> = {
  serial:
    "The lookup covers serials drawn from a serial pool only. A job's own serials (a job without a serial pool, e.g. SN-00000001) repeat across jobs and are not indexed: find those in the job's results or manifest. A pool value not found was never issued, or was drawn by a request that was never granted (burned).",
  mac: 'The lookup covers addresses of the MAC blocks: this one was never issued, or was drawn by a request that was never granted (burned).',
  uid: 'The lookup covers chip UIDs of jobs with a UID policy, while claimed or programmed: a chip whose unit failed is freed for another attempt and no longer found.',
};

/**
 * Where did this value go? (GET /v1/units): the unit's job, image, programmer, authorization and
 * result. The query lives in the URL (`#/units/{kind}/{value}`), so a lookup can be shared.
 */
export function UnitLookupPage({ kind, value }: { kind?: UnitLookupKind; value?: string }) {
  const { api } = useConsole();
  const [draftKind, setDraftKind] = useState<UnitLookupKind>(kind ?? 'serial');
  const [draft, setDraft] = useState(value ?? '');
  const [stories, setStories] = useState<Story[] | undefined>();
  const [error, setError] = useState<FlashlineApiError | undefined>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setDraftKind(kind ?? 'serial');
    setDraft(value ?? '');
    setStories(undefined);
    setError(undefined);
    if (!kind || !value) return;
    let cancelled = false;
    setBusy(true);
    api
      .call(contract.lookupUnits, { query: { [kind]: value } })
      .then((page) => !cancelled && setStories(page.items))
      .catch((problem) => !cancelled && setError(asApiError(problem)))
      .finally(() => !cancelled && setBusy(false));
    return () => {
      cancelled = true;
    };
  }, [kind, value]);

  const submit = (event: Event) => {
    event.preventDefault();
    const trimmed = draft.trim();
    if (trimmed) navigate(href.units(draftKind, trimmed));
  };
  const chosen = KINDS.find((entry) => entry.kind === draftKind)!;

  return html`
    <h1>Unit lookup</h1>
    <p class="help">Find the unit that got a serial pool value, a MAC address or a chip UID: its job, programmer, authorization and result. Secret values are never shown.</p>
    <form class="toolbar" onSubmit=${submit} aria-label="Look up a unit">
      <label>Look up by <select value=${draftKind} onChange=${(event: Event) => setDraftKind((event.target as HTMLSelectElement).value as UnitLookupKind)}>
        ${KINDS.map((entry) => html`<option key=${entry.kind} value=${entry.kind}>${entry.label}</option>`)}
      </select></label>
      <label>Value <input type="search" required value=${draft} placeholder=${chosen.example} onInput=${(event: Event) => setDraft((event.target as HTMLInputElement).value)} /></label>
      <button type="submit" class="primary" disabled=${busy}>Look up</button>
    </form>
    <${ErrorNotice} error=${error} title="The lookup failed" />
    ${busy && html`<p role="status">Looking up…</p>`}
    ${stories && stories.length === 0 && kind && html`<p class="empty" role="status">No unit got <code>${value}</code>. ${NOT_FOUND[kind]}</p>`}
    ${stories &&
    stories.length > 0 &&
    html`<${TableScroll} label="Units found"><table>
      <caption>${stories.length === 1 ? 'One unit' : `${stories.length} units, oldest first (a value handed out again after a failure)`} got <code>${value}</code></caption>
      <thead><tr><th scope="col">Serial</th><th scope="col">Job</th><th scope="col">Programmer</th><th scope="col">Authorization</th><th scope="col">Authorized</th><th scope="col">Result</th><th scope="col">Fields</th></tr></thead>
      <tbody>${stories.map(
        (story) => html`<tr key=${`${story.authorizationId} ${story.serial}`}>
          <td><code>${story.serial}</code></td>
          <td><a href=${href.job(story.jobId)}><code>${story.jobId}</code></a></td>
          <td><code>${story.programmerId}</code></td>
          <td><code>${story.authorizationId}</code> <span class="tag">${story.state}</span></td>
          <td>${story.authorizedAt ? html`<${Timestamp} at=${story.authorizedAt} />` : '—'}</td>
          <td>${story.result ? html`${story.result.status}${story.result.errorCode ? html` <code>${story.result.errorCode}</code>` : ''}` : 'not reported'}</td>
          <td>${story.fields.join(', ')}</td>
        </tr>`,
      )}</tbody>
    </table><//>`}
  `;
}
