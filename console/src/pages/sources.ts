import { html } from 'htm/preact';
import * as contract from '../../../shared/contract/index.js';
import type { ResponseOf } from '../../../shared/contract/route.js';
import { ErrorNotice } from '../components/error-notice.js';
import { useConsole, usePolling } from '../hooks.js';
import { href } from '../router.js';
import { TableScroll } from '../components/table-scroll.js';

type Job = ResponseOf<typeof contract.listJobs>['items'][number];
type SourceKind = 'serialPool' | 'macBlock' | 'dataList' | 'certificateAuthority';

async function collect<T>(pages: AsyncGenerator<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of pages) items.push(item);
  return items;
}

/** Which jobs name each source: read from the jobs' unit fields, so nothing is stored twice. */
function usersOf(jobs: readonly Job[]): Map<string, Job[]> {
  const users = new Map<string, Job[]>();
  for (const job of jobs) {
    if (job.status === 'deleted') continue;
    for (const field of job.unitFields ?? []) {
      const source = field.source as Partial<Record<SourceKind, string>>;
      const id = source.serialPool ?? source.macBlock ?? source.dataList ?? source.certificateAuthority;
      if (id && !(users.get(id) ?? []).includes(job)) users.set(id, [...(users.get(id) ?? []), job]);
    }
  }
  return users;
}

function UsedBy({ jobs }: { jobs: Job[] | undefined }) {
  if (!jobs || jobs.length === 0) return html`<span class="empty">no job</span>`;
  return html`<ul class="inline-list">${jobs.map((job) => html`<li key=${job.jobId}><a href=${href.job(job.jobId)}>${job.name}</a></li>`)}</ul>`;
}

const count = (value: number) => value.toLocaleString('en');

/**
 * Per-unit data sources of the account (api.md "Per-unit data"): what each has handed out, what
 * remains, and which jobs draw on it. Values themselves are never shown here: secret columns stay
 * in the one authorization response that hands them out.
 */
export function SourcesPage() {
  const { api } = useConsole();
  const loaded = usePolling(
    async () => {
      const [serialPools, macBlocks, dataLists, authorities, jobs] = await Promise.all([
        collect(api.paginate(contract.listSerialPools, { query: { limit: 100 } })),
        collect(api.paginate(contract.listMacBlocks, { query: { limit: 100 } })),
        collect(api.paginate(contract.listDataLists, { query: { limit: 100 } })),
        collect(api.paginate(contract.listCertificateAuthorities, { query: { limit: 100 } })),
        collect(api.paginate(contract.listJobs, { query: { limit: 100 } })),
      ]);
      return { serialPools, macBlocks, dataLists, authorities, users: usersOf(jobs) };
    },
    30_000,
    [],
  );
  const data = loaded.data;
  const section = (title: string, empty: string, rows: unknown[] | undefined, table: () => unknown) => html`
    <h2>${title}</h2>
    ${rows && rows.length === 0 ? html`<p class="empty">${empty}</p>` : rows && table()}
  `;
  return html`
    <h1>Unit data sources</h1>
    <p class="help">Shared by jobs: each value goes to one unit only. Refreshed every 30 s.</p>
    <${ErrorNotice} error=${loaded.error} title="Could not load the sources" />
    ${!data && !loaded.error && html`<p role="status">Loading…</p>`}
    ${data &&
    html`
      ${section('Serial pools', 'No serial pools yet (flashline serial-pools create).', data.serialPools, () => html`<${TableScroll} label="Serial pools"><table>
        <caption class="visually-hidden">Serial pools</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Format</th><th scope="col" class="number">Issued</th><th scope="col" class="number">Remaining</th><th scope="col">Used by</th></tr></thead>
        <tbody>${data.serialPools.map((pool) => html`<tr key=${pool.serialPoolId}><td>${pool.name}</td><td><code>${pool.format}</code></td><td class="number">${count(pool.issued)}</td><td class="number">${count(pool.remaining)}</td><td><${UsedBy} jobs=${data.users.get(pool.serialPoolId)} /></td></tr>`)}</tbody>
      </table><//>`)}
      ${section('MAC blocks', 'No MAC blocks yet (flashline mac-blocks create).', data.macBlocks, () => html`<${TableScroll} label="MAC blocks"><table>
        <caption class="visually-hidden">MAC blocks</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Range</th><th scope="col" class="number">Issued</th><th scope="col" class="number">Remaining</th><th scope="col">Used by</th></tr></thead>
        <tbody>${data.macBlocks.map((block) => html`<tr key=${block.macBlockId}><td>${block.name}</td><td><code>${block.first}</code> – <code>${block.last}</code></td><td class="number">${count(block.issued)}</td><td class="number">${count(block.remaining)}</td><td><${UsedBy} jobs=${data.users.get(block.macBlockId)} /></td></tr>`)}</tbody>
      </table><//>`)}
      ${section('Data lists', 'No data lists yet (flashline data-lists create).', data.dataLists, () => html`<${TableScroll} label="Data lists"><table>
        <caption class="visually-hidden">Data lists</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Columns</th><th scope="col">Status</th><th scope="col" class="number">Rows</th><th scope="col" class="number">Returned</th><th scope="col" class="number">Remaining</th><th scope="col">Used by</th></tr></thead>
        <tbody>${data.dataLists.map((list) => html`<tr key=${list.dataListId}>
          <td>${list.name}</td>
          <td>${list.columns.map((column) => html`<code key=${column.name}>${column.name}</code>${column.secret ? html` <span class="tag">secret</span>` : ''} `)}</td>
          <td>${list.status.replace('_', ' ')}</td>
          <td class="number">${count(list.total)}</td><td class="number">${count(list.returned)}</td><td class="number">${count(list.remaining)}</td>
          <td><${UsedBy} jobs=${data.users.get(list.dataListId)} /></td>
        </tr>`)}</tbody>
      </table><//>`)}
      ${section('Certificate authorities', 'No certificate authorities yet (flashline cas create).', data.authorities, () => html`<${TableScroll} label="Certificate authorities"><table>
        <caption class="visually-hidden">Certificate authorities</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Subject</th><th scope="col">Valid until</th><th scope="col">Used by</th></tr></thead>
        <tbody>${data.authorities.map((ca) => html`<tr key=${ca.certificateAuthorityId}><td>${ca.name}</td><td><code>${ca.subject}</code></td><td>${ca.notAfter.slice(0, 10)}</td><td><${UsedBy} jobs=${data.users.get(ca.certificateAuthorityId)} /></td></tr>`)}</tbody>
      </table><//>`)}
    `}
  `;
}
