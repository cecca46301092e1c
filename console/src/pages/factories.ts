import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { Factory } from '../api.js';
import { ActionFeedback } from '../components/action-feedback.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { ErrorNotice } from '../components/error-notice.js';
import { FormDialog } from '../components/form-dialog.js';
import { useAction, useConsole, usePolling } from '../hooks.js';
import { can, needsNote } from '../permissions.js';
import { href } from '../router.js';
import { TableScroll } from '../components/table-scroll.js';

type Editing = { kind: 'rename' | 'delete'; factory: Factory } | undefined;

export function FactoriesPage() {
  const { api, caller } = useConsole();
  const factories = usePolling(() => api.listAll(contract.listFactories, { query: { limit: 100 } }), 15_000, []);
  const [name, setName] = useState('');
  const create = useAction();
  const change = useAction();
  const [editing, setEditing] = useState<Editing>();
  const [newName, setNewName] = useState('');

  const submitCreate = async (event: Event) => {
    event.preventDefault();
    const created = await create.run(() => api.call(contract.createFactory, { body: { name } }), ({ factory }) => `Factory "${factory.name}" created.`);
    if (created) {
      setName('');
      factories.reload();
    }
  };

  const finish = (changed: unknown) => {
    if (changed === undefined) return;
    setEditing(undefined);
    factories.reload();
  };

  const mayCreate = can(caller, contract.createFactory);
  const mayRename = (factory: Factory) => can(caller, contract.renameFactory, factory.factoryId);
  const mayDelete = (factory: Factory) => !factory.isDefault && can(caller, contract.deleteFactory, factory.factoryId);
  const rowActions = (factories.data ?? []).some((factory) => mayRename(factory) || mayDelete(factory));

  return html`
    <h1>Factories</h1>
    ${!mayCreate && html`<p class="help">${needsNote(caller, contract.createFactory, 'creates, renames and deletes factories')}</p>`}
    ${mayCreate &&
    html`<form class="inline-form" onSubmit=${submitCreate} aria-labelledby="create-factory-heading">
      <h2 id="create-factory-heading" class="visually-hidden">Create a factory</h2>
      <label for="new-factory-name">New factory name</label>
      <input id="new-factory-name" name="name" value=${name} required maxlength="100" onInput=${(event: Event) => setName((event.target as HTMLInputElement).value)} />
      <button type="submit" class="primary" disabled=${create.busy}>Create factory</button>
    </form>`}
    <${ActionFeedback} action=${create} failedTitle="Could not create the factory" />
    ${!editing && html`<${ActionFeedback} action=${change} failedTitle="The change failed" />`}
    <${ErrorNotice} error=${factories.error} title="Could not load the factories" />
    ${factories.data === undefined && !factories.error && html`<p role="status">Loading…</p>`}
    ${factories.data && factories.data.length === 0 && html`<p class="empty">No factories yet${mayCreate ? ': create the first one above' : ''}.</p>`}
    ${factories.data &&
    factories.data.length > 0 &&
    html`<${TableScroll} label="Factories"><table>
      <caption class="visually-hidden">Virtual Factories of this account</caption>
      <thead>
        <tr><th scope="col">Factory</th><th scope="col" class="number">Open jobs</th><th scope="col" class="number">Programmers</th><th scope="col">Created</th>${rowActions && html`<th scope="col">Actions</th>`}</tr>
      </thead>
      <tbody>
        ${factories.data.map(
          (factory) => html`<tr key=${factory.factoryId}>
            <td><a href=${href.factory(factory.factoryId)}>${factory.name}</a>${factory.isDefault && html` <span class="tag">default</span>`}</td>
            <td class="number">${factory.openJobCount}</td>
            <td class="number">${factory.programmerCount}</td>
            <td>${new Date(factory.createdAt).toLocaleDateString()}</td>
            ${rowActions &&
            html`<td class="row-actions">
              ${mayRename(factory) && html`<button type="button" aria-label=${`Rename ${factory.name}`} onClick=${() => { change.clear(); setNewName(factory.name); setEditing({ kind: 'rename', factory }); }}>Rename</button>`}
              ${mayDelete(factory) && html`<button type="button" aria-label=${`Delete ${factory.name}`} onClick=${() => { change.clear(); setEditing({ kind: 'delete', factory }); }}>Delete</button>`}
            </td>`}
          </tr>`,
        )}
      </tbody>
    </table><//>`}
    ${editing?.kind === 'rename' &&
    html`<${FormDialog}
      title=${`Rename ${editing.factory.name}`}
      submitLabel="Rename"
      busy=${change.busy}
      error=${change.error}
      onCancel=${() => setEditing(undefined)}
      onSubmit=${async () =>
        finish(await change.run(() => api.call(contract.renameFactory, { params: { factoryId: editing.factory.factoryId }, body: { name: newName } }), ({ factory }) => `Factory renamed to "${factory.name}".`))}
    >
      <label for="rename-factory">Name</label>
      <input id="rename-factory" value=${newName} required maxlength="100" onInput=${(event: Event) => setNewName((event.target as HTMLInputElement).value)} />
    <//>`}
    ${editing?.kind === 'delete' &&
    html`<${ConfirmDialog}
      title=${`Delete ${editing.factory.name}?`}
      message="Only an empty factory can go: move or deprovision its programmers and delete its active jobs first. This cannot be undone."
      confirmLabel="Delete factory"
      danger=${true}
      busy=${change.busy}
      error=${change.error}
      onCancel=${() => setEditing(undefined)}
      onConfirm=${async () => finish(await change.run(() => api.call(contract.deleteFactory, { params: { factoryId: editing.factory.factoryId } }), () => `Factory "${editing.factory.name}" deleted.`))}
    />`}
  `;
}
