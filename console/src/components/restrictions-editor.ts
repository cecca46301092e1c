import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { Job } from '../api.js';
import { useAction, useConsole } from '../hooks.js';
import { can } from '../permissions.js';
import { FlashlineApiError } from '../api.js';
import { type RestrictionsDraft, autoPauseProblem, changedRestrictions, draftOf } from '../restrictions.js';
import { ActionFeedback } from './action-feedback.js';
import { FormDialog } from './form-dialog.js';
import { RestrictionsFields } from './restrictions-fields.js';

/** Changes a job's restrictions (PATCH /v1/jobs/{jobId}); allowed at any time while the job exists. */
export function RestrictionsEditor({ job, onSaved }: { job: Job; onSaved: (job: Job) => void }) {
  const { api, caller } = useConsole();
  const save = useAction();
  const [draft, setDraft] = useState<RestrictionsDraft | undefined>();
  const [checked, setChecked] = useState(false);
  if (job.status === 'deleted' || !can(caller, contract.updateJob, job.factoryId)) return null;
  return html`
    <div class="toolbar">
      <button type="button" onClick=${() => { save.clear(); setChecked(false); setDraft(draftOf(job.restrictions)); }}>Edit restrictions</button>
    </div>
    ${!draft && html`<${ActionFeedback} action=${save} failedTitle="Could not change the restrictions" />`}
    ${draft &&
    html`<${FormDialog}
      title="Edit restrictions"
      submitLabel="Save restrictions"
      busy=${save.busy}
      error=${save.error}
      onCancel=${() => setDraft(undefined)}
      onSubmit=${async () => {
        const restrictions = changedRestrictions(draftOf(job.restrictions), draft);
        if (Object.keys(restrictions).length === 0) return setDraft(undefined);
        setChecked(true);
        const saved = await save.run(
          async () => {
            const problem = autoPauseProblem(draft);
            if (problem) throw new FlashlineApiError(0, 'invalid_restrictions', problem.message);
            return api.call(contract.updateJob, { params: { jobId: job.jobId }, body: { restrictions: restrictions as contract.UpdateJobInput['restrictions'] } });
          },
          () => 'Restrictions saved.',
        );
        if (!saved) return;
        onSaved(saved.value.job);
        setDraft(undefined);
      }}
    >
      <${RestrictionsFields} draft=${draft} onChange=${setDraft} idPrefix="job" editing=${true} checked=${checked} />
    <//>`}
  `;
}
