import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { Job, JobStatus } from '../api.js';
import { ErrorNotice } from '../components/error-notice.js';
import { StatusBadge } from '../components/status-badge.js';
import { TimeAgo } from '../components/time-ago.js';
import { formatCount, formatYield, yieldOf } from '../format.js';
import { useConsole, usePolling } from '../hooks.js';
import { can } from '../permissions.js';
import { href } from '../router.js';
import { TableScroll } from '../components/table-scroll.js';

const STATUS_FILTERS: { value: JobStatus | ''; label: string }[] = [
  { value: '', label: 'All but deleted' },
  { value: 'active', label: 'Active' },
  { value: 'paused', label: 'Paused' },
  { value: 'completed', label: 'Completed' },
  { value: 'expired', label: 'Expired' },
  { value: 'deleted', label: 'Deleted' },
];

export const JOB_REFRESH_MS = 5_000;

export function FactoryJobsPage({ factoryId }: { factoryId: string }) {
  const { api, caller } = useConsole();
  const [status, setStatus] = useState<JobStatus | ''>('');
  const factory = usePolling(() => api.call(contract.getFactory, { params: { factoryId } }), null, [factoryId]);
  const jobs = usePolling(
    () => api.listAll(contract.listJobs, { query: { limit: 100, factoryId, status: status || undefined } }),
    JOB_REFRESH_MS,
    [factoryId, status],
  );
  const name = factory.data?.factory.name;
  const mayPublish = can(caller, contract.registerImage, factoryId);

  return html`
    <nav aria-label="Breadcrumb" class="breadcrumb"><a href=${href.factories()}>Factories</a> / <span aria-current="page">${name ?? factoryId}</span></nav>
    <h1>${name ?? 'Factory'}</h1>
    <${ErrorNotice} error=${factory.error} title="Could not load the factory" />
    <div class="toolbar">
      <label>Status <select value=${status} onChange=${(event: Event) => setStatus((event.target as HTMLSelectElement).value as JobStatus | '')}>
        ${STATUS_FILTERS.map((filter) => html`<option value=${filter.value}>${filter.label}</option>`)}
      </select></label>
      <button type="button" onClick=${jobs.reload}>Refresh</button>
      <span class="help">Updates every ${JOB_REFRESH_MS / 1000} s</span>
      ${mayPublish && html`<a class="button-link" href=${href.publish(factoryId)}>Publish an image</a>`}
    </div>
    <${ErrorNotice} error=${jobs.error} title="Could not load the jobs" />
    ${jobs.data === undefined && !jobs.error && html`<p role="status">Loading…</p>`}
    ${jobs.data && jobs.data.length === 0 && html`<p class="empty">No jobs ${status ? `in status ${status}` : 'here yet'}.${mayPublish && html` <a href=${href.publish(factoryId)}>Publish an image</a> for this factory, or use <code>flashline image publish</code>.`}</p>`}
    ${jobs.data && jobs.data.length > 0 && html`<${JobsTable} jobs=${jobs.data} />`}
  `;
}

function JobsTable({ jobs }: { jobs: Job[] }) {
  return html`<${TableScroll} label="Jobs of this factory"><table class="jobs">
    <caption class="visually-hidden">Jobs of this factory</caption>
    <thead>
      <tr>
        <th scope="col">Job</th>
        <th scope="col">Status</th>
        <th scope="col" class="number">Authorized</th>
        <th scope="col" class="number">Succeeded</th>
        <th scope="col" class="number">Failed</th>
        <th scope="col" class="number">Remaining</th>
        <th scope="col" class="number">Yield</th>
        <th scope="col">Updated</th>
      </tr>
    </thead>
    <tbody>
      ${jobs.map(
        (job) => html`<tr key=${job.jobId}>
          <td>${job.status === 'deleted' ? job.name : html`<a href=${href.job(job.jobId)}>${job.name}</a>`}</td>
          <td><${StatusBadge} status=${job.status} /></td>
          <td class="number">${formatCount(job.counters.authorized)}</td>
          <td class="number">${formatCount(job.counters.succeeded)}</td>
          <td class="number">${formatCount(job.counters.failed)}</td>
          <td class="number">${formatCount(job.counters.remaining)}</td>
          <td class="number">${formatYield(yieldOf(job.counters))}</td>
          <td><${TimeAgo} at=${job.updatedAt} /></td>
        </tr>`,
      )}
    </tbody>
  </table><//>`;
}
