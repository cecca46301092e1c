import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { FlashlineApiError, Job, LogLine, ResultRecord } from '../api.js';
import { ActionsMenu, type MenuAction } from '../components/actions-menu.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { RestrictionsEditor } from '../components/restrictions-editor.js';
import { ErrorNotice } from '../components/error-notice.js';
import { ResultsChart } from '../components/results-chart.js';
import { StatusBadge } from '../components/status-badge.js';
import { TimeAgo, Timestamp } from '../components/time-ago.js';
import { MAX_PAGES_PER_TICK, useFeed } from '../feed.js';
import { formatCount, formatDuration, formatTime, formatYield, yieldOf } from '../format.js';
import { JobTargets } from '../components/group-targets.js';
import { ReplaceImage } from '../components/replace-image.js';
import { asApiError, useConsole, usePolling } from '../hooks.js';
import { ResultHistogram } from '../incremental.js';
import { can } from '../permissions.js';
import { href } from '../router.js';
import { JOB_REFRESH_MS } from './factory-jobs.js';
import { actionAllowed } from '../../../shared/domain/jobs.js';
import { GUARDRAIL_ACTOR, guardrailCrossed } from '../../../shared/domain/guardrail.js';
import { TableScroll } from '../components/table-scroll.js';

export const LOG_REFRESH_MS = 3_000;
const RECENT_RESULTS = 10;
const LOG_LINES_KEPT = 500;

/** Each action of the menu is one route of the contract; none is idempotent, so the client never retries them. */
const ACTION_ROUTES = { pause: contract.pauseJob, resume: contract.resumeJob, restart: contract.restartJob, delete: contract.deleteJob };
type JobAction = keyof typeof ACTION_ROUTES;

interface ActionText {
  label: string;
  title: string;
  message: (job: Job) => string;
  confirm: string;
  done: string;
  danger?: boolean;
}

const ACTIONS: Record<JobAction, ActionText> = {
  pause: {
    label: 'Pause',
    title: 'Pause this job?',
    message: (job) => `Programmers stop seeing "${job.name}" and are refused with job_paused until it is resumed.`,
    confirm: 'Pause job',
    done: 'Job paused.',
  },
  resume: {
    label: 'Resume',
    title: 'Resume this job?',
    message: (job) => `Programmers of the factory see "${job.name}" again and may program it.`,
    confirm: 'Resume job',
    done: 'Job resumed.',
  },
  restart: {
    label: 'Restart',
    title: 'Restart this job?',
    message: (job) => `A new run of "${job.name}" starts: counters go back to zero, the history is kept and serial numbers continue.`,
    confirm: 'Restart job',
    done: 'Job restarted: a new run has begun.',
  },
  delete: {
    label: 'Delete',
    title: 'Delete this job?',
    message: (job) => `Programmers are refused "${job.name}" with job_deleted and a cloud-delivered image is deleted. Its page, results and logs are gone; it stays in the factory's Deleted list with its final counters. This cannot be undone.`,
    confirm: 'Delete job',
    done: 'Job deleted.',
    danger: true,
  },
};

/** The API's own transition table (shared/domain/jobs.ts), so the menu never offers what the API refuses. */
function allowedActions(status: Job['status']): Record<JobAction, boolean> {
  return { pause: actionAllowed(status, 'pause'), resume: actionAllowed(status, 'resume'), restart: actionAllowed(status, 'restart'), delete: actionAllowed(status, 'delete') };
}

export function JobPage({ jobId }: { jobId: string }) {
  const { api, caller } = useConsole();
  const loaded = usePolling(() => api.call(contract.getJob, { params: { jobId } }), JOB_REFRESH_MS, [jobId]);
  // An action's answer is newer than the last poll: show it at once.
  const [override, setOverride] = useState<Job | undefined>();
  const job = override && (!loaded.data || override.updatedAt >= loaded.data.job.updatedAt) ? override : loaded.data?.job;
  const factory = usePolling(() => api.call(contract.getFactory, { params: { factoryId: job?.factoryId ?? '' } }), null, [job?.factoryId], Boolean(job));
  // Results and logs name programmers by id; operators know them by name. Rarely changes: poll slowly.
  const programmers = usePolling(() => api.listAll(contract.listProgrammers, { query: { limit: 100 } }), 60_000, []);
  const programmerNames = new Map((programmers.data ?? []).map((programmer) => [programmer.programmerId, programmer.name]));
  const [confirming, setConfirming] = useState<JobAction | undefined>();
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<FlashlineApiError | undefined>();
  const [actionDone, setActionDone] = useState<string | undefined>();

  const run = async (action: JobAction) => {
    setBusy(true);
    setActionError(undefined);
    setActionDone(undefined);
    try {
      const { job: updated } = await api.call(ACTION_ROUTES[action], { params: { jobId } });
      setOverride(updated);
      setActionDone(ACTIONS[action].done);
    } catch (error) {
      setActionError(asApiError(error));
    } finally {
      setBusy(false);
      setConfirming(undefined);
      loaded.reload();
    }
  };

  if (!job) {
    return html`
      <nav aria-label="Breadcrumb" class="breadcrumb"><a href=${href.factories()}>Factories</a> / <span aria-current="page">Job</span></nav>
      <h1>Job</h1>
      <${ErrorNotice} error=${loaded.error} title="Could not load the job" />
      ${!loaded.error && html`<p role="status">Loading…</p>`}
    `;
  }

  const allowed = allowedActions(job.status);
  // What the caller's role may not do is not offered at all; what the job's state forbids now is shown disabled.
  const offered = (Object.keys(ACTIONS) as JobAction[]).filter((id) => can(caller, ACTION_ROUTES[id], job.factoryId));
  const menu: MenuAction[] = offered.map((id) => ({ id, label: ACTIONS[id].label, disabled: !allowed[id] }));
  const factoryName = factory.data?.factory.name ?? 'Factory';

  return html`
    <nav aria-label="Breadcrumb" class="breadcrumb">
      <a href=${href.factories()}>Factories</a> / <a href=${href.factory(job.factoryId)}>${factoryName}</a> / <span aria-current="page">${job.name}</span>
    </nav>
    <header class="page-header">
      <h1>${job.name} <${StatusBadge} status=${job.status} /></h1>
      ${menu.length > 0 && html`<${ActionsMenu} label="Actions" actions=${menu} onSelect=${(id: string) => setConfirming(id as JobAction)} />`}
    </header>
    ${actionDone && html`<p class="notice" role="status">${actionDone}</p>`}
    <${ErrorNotice} error=${actionError} title="The action failed" />
    <${ErrorNotice} error=${loaded.error} title="Could not refresh the job" />
    ${confirming &&
    html`<${ConfirmDialog}
      title=${ACTIONS[confirming].title}
      message=${ACTIONS[confirming].message(job)}
      confirmLabel=${ACTIONS[confirming].confirm}
      danger=${ACTIONS[confirming].danger}
      busy=${busy}
      onConfirm=${() => run(confirming)}
      onCancel=${() => setConfirming(undefined)}
    />`}
    ${job.status === 'paused' && html`<${PauseReason} job=${job} />`}
    <${Counters} job=${job} />
    <${JobTargets} job=${job} onChanged=${setOverride} />
    <${ReplaceImage} job=${job} onReplaced=${setOverride} />
    <${JobDetails} job=${job} />
    <${RestrictionsEditor} job=${job} onSaved=${setOverride} />
    <${ResultsSection} jobId=${jobId} programmerNames=${programmerNames} />
    <${LogsSection} jobId=${jobId} programmerNames=${programmerNames} />
  `;
}

/** "pauses at ≥ 5 % failures once 20 results are in", or "off". */
export function describeAutoPause(autoPause: Job['restrictions']['autoPause']): string {
  if (!autoPause) return 'off';
  const percent = Number((autoPause.failureRate * 100).toPrecision(6));
  return `pauses the job at ≥ ${percent} % failures once ${formatCount(autoPause.minUnits)} ${autoPause.minUnits === 1 ? 'result is' : 'results are'} in (this run)`;
}

/** "10 min", "2 h", "7 days": a lease limit in the unit it was most likely chosen in. */
export function describeSeconds(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} ${seconds === 86_400 ? 'day' : 'days'}`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/**
 * Why a paused job is paused, when the yield guardrail did it. The job view does not say who
 * changed its status; the audit trail does (its pause record's actor is `guardrail`), for
 * whoever may read it. Others are told when this run's results cross the guardrail.
 */
function PauseReason({ job }: { job: Job }) {
  const { api, caller } = useConsole();
  const readsAudit = can(caller, contract.listAudit);
  const lastPause = usePolling(
    () => api.call(contract.listAudit, { query: { limit: 1, action: 'job.pause', target: job.jobId } }),
    null,
    [job.jobId, job.updatedAt],
    readsAudit,
  );
  const { autoPause } = job.restrictions;
  const crossed = guardrailCrossed(autoPause, job.counters.succeeded, job.counters.failed);
  const rate = formatYield(1 - (yieldOf(job.counters) ?? 1));
  const why = `${rate} of this run's ${formatCount(job.counters.succeeded + job.counters.failed)} results failed; the guardrail ${describeAutoPause(autoPause)}.`;
  if (readsAudit) {
    const actor = lastPause.data?.items[0]?.actor;
    if (actor !== GUARDRAIL_ACTOR) return null;
    return html`<p class="notice warn" role="status"><strong>Paused by the yield guardrail.</strong> ${why} Resume it once the cause is fixed.</p>`;
  }
  if (!crossed) return null;
  return html`<p class="notice warn" role="status"><strong>The yield guardrail's threshold is crossed</strong>, which pauses the job: ${why}</p>`;
}

function Stat({ label, value }: { label: string; value: string }) {
  return html`<div class="stat"><dt>${label}</dt><dd>${value}</dd></div>`;
}

function Counters({ job }: { job: Job }) {
  const { counters } = job;
  return html`<section aria-labelledby="counters-heading">
    <h2 id="counters-heading">Counters <span class="help">run ${job.run}, updates every ${JOB_REFRESH_MS / 1000} s</span></h2>
    <dl class="stats">
      <${Stat} label="Authorized" value=${formatCount(counters.authorized)} />
      <${Stat} label="Succeeded" value=${formatCount(counters.succeeded)} />
      <${Stat} label="Failed" value=${formatCount(counters.failed)} />
      <${Stat} label="Returned" value=${formatCount(counters.returned)} />
      <${Stat} label="Remaining" value=${formatCount(counters.remaining)} />
      <${Stat} label="Yield" value=${formatYield(yieldOf(counters))} />
    </dl>
  </section>`;
}

function JobDetails({ job }: { job: Job }) {
  const { restrictions } = job;
  return html`<details class="job-details">
    <summary>Details</summary>
    <dl class="pairs">
      <dt>Job id</dt><dd><code>${job.jobId}</code></dd>
      <dt>Image id</dt><dd><code>${job.imageId}</code></dd>
      <dt>Maximum count</dt><dd>${formatCount(restrictions.maxCount)}</dd>
      <dt>Not before</dt><dd>${formatTime(restrictions.notBefore)}</dd>
      <dt>Not after</dt><dd>${formatTime(restrictions.notAfter)}</dd>
      <dt>Longest lease</dt><dd>${describeSeconds(restrictions.maxLeaseSeconds)}</dd>
      <dt>Auto-pause</dt><dd>${describeAutoPause(restrictions.autoPause)}</dd>
      <dt>Serial format</dt><dd><code>${job.serials.format}</code> (next <code>${job.serials.next}</code>)</dd>
      <dt>Created</dt><dd><${Timestamp} at=${job.createdAt} /></dd>
      <dt>Updated</dt><dd><${Timestamp} at=${job.updatedAt} /></dd>
    </dl>
  </details>`;
}

type ProgrammerNames = Map<string, string>;

function ProgrammerName({ id, names }: { id: string; names: ProgrammerNames }) {
  const name = names.get(id);
  return name ? html`<span title=${id}>${name}</span>` : html`<code>${id}</code>`;
}

function ResultsSection({ jobId, programmerNames }: { jobId: string; programmerNames: ProgrammerNames }) {
  const { api } = useConsole();
  const histogram = useRef(new ResultHistogram());
  const [recent, setRecent] = useState<ResultRecord[]>([]);
  const [version, setVersion] = useState(0);
  const feed = useFeed<ResultRecord>({
    read: (cursor) => api.readFeed(contract.listJobResults, { params: { jobId }, query: { limit: 100 } }, cursor, MAX_PAGES_PER_TICK),
    onItems: (items) => {
      for (const result of items) histogram.current.add(result.at, result.status);
      setRecent((previous) => [...items.slice(-RECENT_RESULTS).reverse(), ...previous].slice(0, RECENT_RESULTS));
      setVersion((value) => value + 1);
    },
    intervalMs: JOB_REFRESH_MS,
    deps: [jobId],
  });
  void version;

  return html`<section aria-labelledby="results-heading">
    <h2 id="results-heading">Results over time</h2>
    <${ErrorNotice} error=${feed.error} title="Could not load the results" />
    ${!feed.loaded && !feed.error && html`<p role="status">Loading…</p>`}
    ${feed.loaded && html`<${ResultsChart} buckets=${histogram.current.buckets()} succeeded=${histogram.current.succeeded} failed=${histogram.current.failed} />`}
    <h3 id="recent-results-heading">Recent results</h3>
    ${feed.loaded && recent.length === 0 && html`<p class="empty">None yet.</p>`}
    ${recent.length > 0 &&
    html`<${TableScroll} label="Recent results"><table aria-labelledby="recent-results-heading">
      <thead>
        <tr><th scope="col">Serial</th><th scope="col">Result</th><th scope="col">Error</th><th scope="col" class="number">Duration</th><th scope="col">Programmer</th><th scope="col" class="number">Run</th><th scope="col">Programmed</th></tr>
      </thead>
      <tbody>
        ${recent.map(
          (result) => html`<tr key=${`${result.authorizationId}/${result.serial}`}>
            <td><code>${result.serial}</code></td>
            <td><${StatusBadge} status=${result.status} /></td>
            <td>${result.errorCode ?? ''}</td>
            <td class="number">${formatDuration(result.durationMs)}</td>
            <td><${ProgrammerName} id=${result.programmerId} names=${programmerNames} /></td>
            <td class="number">${result.run}</td>
            <td><${TimeAgo} at=${result.at} /></td>
          </tr>`,
        )}
      </tbody>
    </table><//>`}
  </section>`;
}

function LogsSection({ jobId, programmerNames }: { jobId: string; programmerNames: ProgrammerNames }) {
  const { api } = useConsole();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [follow, setFollow] = useState(true);
  const listRef = useRef<HTMLDivElement>(null);
  const feed = useFeed<LogLine>({
    read: (cursor) => api.readFeed(contract.listJobLogs, { params: { jobId }, query: { limit: 100 } }, cursor, MAX_PAGES_PER_TICK),
    onItems: (items) => setLines((previous) => [...previous, ...items].slice(-LOG_LINES_KEPT)),
    intervalMs: LOG_REFRESH_MS,
    enabled: follow,
    deps: [jobId],
  });

  useEffect(() => {
    const list = listRef.current;
    if (list) list.scrollTop = list.scrollHeight;
  }, [lines.length]);

  return html`<section aria-labelledby="logs-heading">
    <h2 id="logs-heading">Logs</h2>
    <div class="toolbar">
      <label><input type="checkbox" checked=${follow} onChange=${(event: Event) => setFollow((event.target as HTMLInputElement).checked)} /> Auto-refresh every ${LOG_REFRESH_MS / 1000} s</label>
    </div>
    <${ErrorNotice} error=${feed.error} title="Could not load the logs" />
    ${feed.loaded && lines.length === 0 && html`<p class="empty">No log lines yet.</p>`}
    ${/* The log region scrolls: focusable so keyboard users can scroll it; the list inside keeps its list semantics. */ ''}
    <div ref=${listRef} class="logs" role="log" tabindex="0" aria-labelledby="logs-heading" aria-live="polite">
      <ol>
      ${lines.map(
        (line) => html`<li key=${line.sequence} class=${`log-${line.level}`} data-sequence=${line.sequence}>
          <time datetime=${line.at} title=${`received ${formatTime(line.receivedAt)}`}>${formatTime(line.at)}</time> <span class="level">${line.level}</span> <span class="programmer">${programmerNames.get(line.programmerId) ?? line.programmerId}</span> <span class="message">${line.message}</span>
        </li>`,
      )}
      </ol>
    </div>
  </section>`;
}
