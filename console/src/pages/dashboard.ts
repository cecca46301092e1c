import { html } from 'htm/preact';
import * as contract from '../../../shared/contract/index.js';
import type { FlashlineClient, Job } from '../api.js';
import { ErrorNotice } from '../components/error-notice.js';
import { StatusBadge } from '../components/status-badge.js';
import { type FactorySummary, jobsNearLimit, startOfToday, summarizeFactories } from '../dashboard-figures.js';
import { formatCount, formatYield } from '../format.js';
import { useConsole, usePolling } from '../hooks.js';
import { can } from '../permissions.js';
import { href } from '../router.js';
import { TableScroll } from '../components/table-scroll.js';

export const DASHBOARD_REFRESH_MS = 30_000;
/** Results pages read per job for "units today": enough for a busy day, bounded for a huge one. */
const TODAY_PAGES_PER_JOB = 20;

interface UnitsToday {
  succeeded: number;
  failed: number;
  /** A job had more results today than were read: the figure is a lower bound. */
  partial: boolean;
}

/** Jobs read at once: an account with hundreds of jobs must not spend its request budget in one burst. */
const CONCURRENT_JOB_READS = 4;

async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Results that arrived since the viewer's midnight, over every job that can still have any. */
async function unitsToday(api: FlashlineClient, jobs: Job[]): Promise<UnitsToday> {
  const since = startOfToday(Date.now()).toISOString();
  const reads = await mapLimited(
    jobs.filter((job) => job.status !== 'deleted'),
    CONCURRENT_JOB_READS,
    (job) => api.readFeed(contract.listJobResults, { params: { jobId: job.jobId }, query: { since, limit: 100 } }, undefined, TODAY_PAGES_PER_JOB),
  );
  const results = reads.flatMap((read) => read.items);
  return {
    succeeded: results.filter((result) => result.status === 'success').length,
    failed: results.filter((result) => result.status === 'failure').length,
    partial: reads.some((read) => !read.caughtUp),
  };
}

export function DashboardPage() {
  const { api, account } = useConsole();
  const loaded = usePolling(
    async () => {
      const [factories, jobs, programmers] = await Promise.all([
        api.listAll(contract.listFactories, { query: { limit: 100 } }),
        api.listAll(contract.listJobs, { query: { limit: 100 } }),
        api.listAll(contract.listProgrammers, { query: { limit: 100 } }),
      ]);
      const today = await unitsToday(api, jobs);
      return { factories, jobs, programmers, today, at: Date.now() };
    },
    DASHBOARD_REFRESH_MS,
    [],
  );
  const data = loaded.data;
  const summaries = data ? summarizeFactories(data.factories, data.jobs, data.programmers, data.at) : [];
  const nearLimit = data ? jobsNearLimit(data.jobs) : [];
  const online = summaries.reduce((sum, s) => sum + s.online, 0);
  const offline = summaries.reduce((sum, s) => sum + s.offline, 0);
  const neverSeen = summaries.reduce((sum, s) => sum + s.neverSeen, 0);
  const disabled = summaries.reduce((sum, s) => sum + s.disabled, 0);
  const todayTotal = data ? data.today.succeeded + data.today.failed : 0;

  return html`
    <h1>Dashboard</h1>
    <p class="help">${account.name}: updates every ${DASHBOARD_REFRESH_MS / 1000} s. <button type="button" onClick=${loaded.reload}>Refresh</button></p>
    <${ErrorNotice} error=${loaded.error} title="Could not load the dashboard" />
    ${!data && !loaded.error && html`<p role="status">Loading…</p>`}
    ${data &&
    html`
      <section aria-labelledby="today-heading">
        <h2 id="today-heading">Today <span class="help">every run's results since midnight</span></h2>
        <dl class="stats">
          <div class="stat"><dt>Units today (all runs)</dt><dd>${data.today.partial ? '≥ ' : ''}${formatCount(todayTotal)}</dd></div>
          <div class="stat"><dt>Failed today (all runs)</dt><dd>${formatCount(data.today.failed)}</dd></div>
          <div class="stat"><dt>Yield today (all runs)</dt><dd>${formatYield(todayTotal === 0 ? null : data.today.succeeded / todayTotal)}</dd></div>
          <div class="stat"><dt>Programmers online</dt><dd>${online}</dd></div>
          <div class="stat"><dt>Programmers offline</dt><dd>${offline}</dd></div>
          <div class="stat"><dt>Programmers never seen</dt><dd>${neverSeen}</dd></div>
          ${disabled > 0 && html`<div class="stat"><dt>Programmers disabled</dt><dd>${disabled}</dd></div>`}
          <div class="stat"><dt>Active jobs</dt><dd>${data.jobs.filter((job) => job.status === 'active').length}</dd></div>
        </dl>
      </section>
      <section aria-labelledby="factories-heading">
        <h2 id="factories-heading">Factories <span class="help">counters of each job's current run (a restart starts them at zero)</span></h2>
        <${FactorySummaries} summaries=${summaries} />
      </section>
      <section aria-labelledby="near-limit-heading">
        <h2 id="near-limit-heading">Jobs near their limit</h2>
        <${NearLimit} jobs=${nearLimit} factoryNames=${new Map(data.factories.map((factory) => [factory.factoryId, factory.name]))} />
      </section>
    `}
  `;
}

function FactorySummaries({ summaries }: { summaries: FactorySummary[] }) {
  const { caller } = useConsole();
  if (summaries.length === 0) return html`<p class="empty">No factories yet.${can(caller, contract.createFactory) && html` <a href=${href.factories()}>Create one</a>.`}</p>`;
  return html`<${TableScroll} label="Yield and programmers per factory"><table>
    <caption class="visually-hidden">Yield and programmers per factory</caption>
    <thead>
      <tr>
        <th scope="col">Factory</th>
        <th scope="col" class="number">Active jobs</th>
        <th scope="col" class="number">Succeeded (current run)</th>
        <th scope="col" class="number">Failed (current run)</th>
        <th scope="col" class="number">Yield (current run)</th>
        <th scope="col" class="number">Online</th>
        <th scope="col" class="number">Offline</th>
      </tr>
    </thead>
    <tbody>
      ${summaries.map(
        (summary) => html`<tr key=${summary.factory.factoryId}>
          <td><a href=${href.factory(summary.factory.factoryId)}>${summary.factory.name}</a></td>
          <td class="number">${summary.activeJobs}</td>
          <td class="number">${formatCount(summary.succeeded)}</td>
          <td class="number">${formatCount(summary.failed)}</td>
          <td class="number">${formatYield(summary.yield)}</td>
          <td class="number">${summary.online}</td>
          <td class="number">${summary.offline}</td>
        </tr>`,
      )}
    </tbody>
  </table><//>`;
}

function NearLimit({ jobs, factoryNames }: { jobs: Job[]; factoryNames: Map<string, string> }) {
  if (jobs.length === 0) return html`<p class="empty">No active or paused job is within 10 % of its maximum count.</p>`;
  return html`<${TableScroll} label="Jobs near their limit"><table>
    <caption class="visually-hidden">Jobs near their limit</caption>
    <thead>
      <tr><th scope="col">Job</th><th scope="col">Factory</th><th scope="col">Status</th><th scope="col" class="number">Remaining</th><th scope="col" class="number">Maximum</th></tr>
    </thead>
    <tbody>
      ${jobs.map(
        (job) => html`<tr key=${job.jobId}>
          <td><a href=${href.job(job.jobId)}>${job.name}</a></td>
          <td>${factoryNames.get(job.factoryId) ?? job.factoryId}</td>
          <td><${StatusBadge} status=${job.status} /></td>
          <td class="number">${formatCount(job.counters.remaining)}</td>
          <td class="number">${formatCount(job.restrictions.maxCount)}</td>
        </tr>`,
      )}
    </tbody>
  </table><//>`;
}
