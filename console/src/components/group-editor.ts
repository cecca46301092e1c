import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { FlashlineApiError } from '../api.js';
import { asApiError, useConsole } from '../hooks.js';
import { ErrorNotice } from './error-notice.js';

export type Group = contract.ResponseOf<typeof contract.createGroup>['group'];

/**
 * Runs one API change for a form: busy while it runs, the API's error shown as it came, and the
 * caller told when it is done (to reload). Every group form shares it.
 */
export function useChange() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<FlashlineApiError | undefined>();
  const run = async (change: () => Promise<unknown>, done: () => void) => {
    setBusy(true);
    setError(undefined);
    try {
      await change();
      done();
    } catch (problem) {
      setError(asApiError(problem));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

/** Checkboxes of a factory's groups; `ids` are the ones ticked. */
export function GroupChoices({ legend, groups, ids, onChange }: { legend: string; groups: readonly Group[]; ids: readonly string[]; onChange: (ids: string[]) => void }) {
  return html`<fieldset class="group-choices">
    <legend>${legend}</legend>
    ${groups.length === 0 && html`<p class="empty">This factory has no groups yet.</p>`}
    ${groups.map(
      (group) => html`<label key=${group.groupId}>
        <input
          type="checkbox"
          checked=${ids.includes(group.groupId)}
          onChange=${(event: Event) =>
            onChange((event.target as HTMLInputElement).checked ? [...ids, group.groupId] : ids.filter((id) => id !== group.groupId))}
        />
        ${group.name}
      </label>`,
    )}
  </fieldset>`;
}

/** The groups of one factory: create one by name, delete one nobody uses (the API says who still does). */
export function FactoryGroups({ factoryId, factoryName, groups, onChanged }: { factoryId: string; factoryName: string; groups: readonly Group[]; onChanged: () => void }) {
  const { api } = useConsole();
  const [name, setName] = useState('');
  const change = useChange();
  const create = (event: Event) => {
    event.preventDefault();
    void change.run(() => api.call(contract.createGroup, { params: { factoryId }, body: { name } }), () => {
      setName('');
      onChanged();
    });
  };
  return html`<section aria-labelledby="groups-heading" class="groups">
    <h2 id="groups-heading">Groups of ${factoryName}</h2>
    ${groups.length === 0 && html`<p class="empty">No groups yet.</p>`}
    ${groups.length > 0 &&
    html`<ul class="group-list">
      ${groups.map(
        (group) => html`<li key=${group.groupId}>
          ${group.name}
          <button type="button" class="secondary" disabled=${change.busy} aria-label=${`Delete group ${group.name}`}
            onClick=${() => change.run(() => api.call(contract.deleteGroup, { params: { groupId: group.groupId } }), onChanged)}>Delete</button>
        </li>`,
      )}
    </ul>`}
    <form class="toolbar" onSubmit=${create}>
      <label>New group <input value=${name} required maxLength=${200} onInput=${(event: Event) => setName((event.target as HTMLInputElement).value)} /></label>
      <button type="submit" disabled=${change.busy || name.trim() === ''}>Create group</button>
    </form>
    <${ErrorNotice} error=${change.error} title="The group change failed" />
  </section>`;
}

/** A programmer's groups, shown by name, with an editor that replaces them (PATCH groupIds) when the caller may (`editable`). */
export function ProgrammerGroups({ programmer, groups, onChanged, editable = true }: { programmer: { programmerId: string; name: string; groupIds: string[] }; groups: readonly Group[]; onChanged: () => void; editable?: boolean }) {
  const { api } = useConsole();
  const [editing, setEditing] = useState<string[] | undefined>();
  const change = useChange();
  const names = programmer.groupIds.map((id) => groups.find((group) => group.groupId === id)?.name ?? id);
  if (!editing) {
    return html`<span>${names.length > 0 ? names.join(', ') : '—'}</span>
      ${editable && html`<button type="button" class="secondary" aria-label=${`Edit groups of ${programmer.name}`} onClick=${() => setEditing(programmer.groupIds)}>Edit</button>`}`;
  }
  const save = (event: Event) => {
    event.preventDefault();
    void change.run(() => api.call(contract.updateProgrammer, { params: { programmerId: programmer.programmerId }, body: { groupIds: editing } }), () => {
      setEditing(undefined);
      onChanged();
    });
  };
  return html`<form onSubmit=${save} aria-label=${`Groups of ${programmer.name}`}>
    <${GroupChoices} legend=${`Groups of ${programmer.name}`} groups=${groups} ids=${editing} onChange=${setEditing} />
    <button type="submit" disabled=${change.busy}>Save groups</button>
    <button type="button" class="secondary" onClick=${() => setEditing(undefined)}>Cancel</button>
    <${ErrorNotice} error=${change.error} title="Could not change the groups" />
  </form>`;
}
