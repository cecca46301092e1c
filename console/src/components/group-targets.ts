import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { Job } from '../api.js';
import { useConsole, usePolling } from '../hooks.js';
import { can } from '../permissions.js';
import { ErrorNotice } from './error-notice.js';
import { GroupChoices, useChange } from './group-editor.js';

/** Which programmers a job is for: every one of its factory, or the members of its target groups; editable by an author. */
export function JobTargets({ job, onChanged }: { job: Job; onChanged: (job: Job) => void }) {
  const { api, caller } = useConsole();
  const groups = usePolling(() => api.listAll(contract.listGroups, { params: { factoryId: job.factoryId }, query: { limit: 100 } }), null, [job.factoryId]);
  const [editing, setEditing] = useState<string[] | undefined>();
  const change = useChange();
  const names = (job.targetGroupIds ?? []).map((id) => groups.data?.find((group) => group.groupId === id)?.name ?? id);
  const save = (event: Event) => {
    event.preventDefault();
    // Nothing ticked: the job is for the whole factory again (an empty target list would reach nobody).
    const targetGroupIds = editing && editing.length > 0 ? editing : null;
    void change.run(
      async () => onChanged((await api.call(contract.updateJob, { params: { jobId: job.jobId }, body: { targetGroupIds } })).job),
      () => setEditing(undefined),
    );
  };
  return html`<section aria-labelledby="targets-heading">
    <h2 id="targets-heading">Programmers</h2>
    <${ErrorNotice} error=${groups.error} title="Could not load the groups" />
    ${!editing &&
    html`<p class="toolbar">
      <span data-testid="job-targets">${job.targetGroupIds ? `Groups: ${names.join(', ')}` : 'Every programmer of the factory'}</span>
      ${can(caller, contract.updateJob, job.factoryId) && html`<button type="button" onClick=${() => setEditing(job.targetGroupIds ?? [])} disabled=${!groups.data}>Change targets</button>`}
    </p>`}
    ${editing &&
    html`<form onSubmit=${save} aria-label="Target groups">
      <${GroupChoices} legend="Target groups (none ticked: every programmer of the factory)" groups=${groups.data ?? []} ids=${editing} onChange=${setEditing} />
      <button type="submit" disabled=${change.busy}>Save targets</button>
      <button type="button" onClick=${() => setEditing(undefined)}>Cancel</button>
    </form>`}
    <${ErrorNotice} error=${change.error} title="Could not change the targets" />
  </section>`;
}
