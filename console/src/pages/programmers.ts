import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { CredentialsFileType } from '../../../shared/contract/index.js';
import type { Factory, Programmer } from '../api.js';
import { ActionFeedback } from '../components/action-feedback.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { CredentialsDownload } from '../components/credentials-download.js';
import { ErrorNotice } from '../components/error-notice.js';
import { FormDialog } from '../components/form-dialog.js';
import { FactoryGroups, ProgrammerGroups } from '../components/group-editor.js';
import { StatusBadge } from '../components/status-badge.js';
import { TimeAgo } from '../components/time-ago.js';
import { useAction, useConsole, usePolling } from '../hooks.js';
import { can, needsNote } from '../permissions.js';
import { href } from '../router.js';
import { TableScroll } from '../components/table-scroll.js';

type Editing = { kind: 'move' | 'disable' | 'enable' | 'deprovision'; programmer: Programmer } | undefined;

/** "key-a, key-b" as typed → the ids; blanks dropped. */
export function parseKeyIds(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map((id) => id.trim())
    .filter(Boolean);
}

export function ProgrammersPage() {
  const { api, caller } = useConsole();
  const [factoryId, setFactoryId] = useState('');
  const programmers = usePolling(() => api.listAll(contract.listProgrammers, { query: { limit: 100 } }), 15_000, []);
  const factories = usePolling(() => api.listAll(contract.listFactories, { query: { limit: 100 } }), null, []);
  const factoryNames = new Map((factories.data ?? []).map((factory) => [factory.factoryId, factory.name]));
  const shown = (programmers.data ?? []).filter((programmer) => !factoryId || programmer.factoryId === factoryId);
  const change = useAction();
  const [editing, setEditing] = useState<Editing>();
  const [moveTo, setMoveTo] = useState('');

  const finish = (changed: unknown) => {
    if (changed === undefined) return;
    setEditing(undefined);
    programmers.reload();
  };
  const open = (kind: NonNullable<Editing>['kind'], programmer: Programmer) => {
    change.clear();
    setMoveTo(programmer.factoryId);
    setEditing({ kind, programmer });
  };
  // Groups live in factories: every factory's, so each row names its programmer's groups.
  const groups = usePolling(
    async () => (await Promise.all((factories.data ?? []).map((factory) => api.listAll(contract.listGroups, { params: { factoryId: factory.factoryId }, query: { limit: 100 } })))).flat(),
    null,
    [factories.data],
    Boolean(factories.data),
  );
  const groupsOf = (id: string) => (groups.data ?? []).filter((group) => group.factoryId === id);
  const groupsChanged = () => {
    groups.reload();
    programmers.reload();
  };

  const mayProvision = can(caller, contract.provisionProgrammer);
  const mayChange = (programmer: Programmer) => can(caller, contract.updateProgrammer, programmer.factoryId);
  const mayDeprovision = (programmer: Programmer) => can(caller, contract.deprovisionProgrammer, programmer.factoryId);
  const rowActions = shown.some((programmer) => mayChange(programmer) || mayDeprovision(programmer));
  const mayManageGroups = Boolean(factoryId) && can(caller, contract.createGroup, factoryId);

  return html`
    <h1>Programmers</h1>
    ${mayProvision
      ? html`<${ProvisionForm} factories=${factories.data} onProvisioned=${programmers.reload} />`
      : html`<p class="help">${needsNote(caller, contract.provisionProgrammer, 'provisions, moves, disables and deprovisions programmers')}</p>`}
    <h2 id="programmers-heading">Provisioned programmers</h2>
    <div class="toolbar">
      <label>Show factory <select value=${factoryId} onChange=${(event: Event) => setFactoryId((event.target as HTMLSelectElement).value)}>
        <option value="">All factories</option>
        ${(factories.data ?? []).map((factory) => html`<option value=${factory.factoryId}>${factory.name}</option>`)}
      </select></label>
      <button type="button" onClick=${programmers.reload}>Refresh</button>
    </div>
    ${!editing && html`<${ActionFeedback} action=${change} failedTitle="The change failed" />`}
    <${ErrorNotice} error=${programmers.error ?? factories.error} title="Could not load the programmers" />
    ${programmers.data === undefined && !programmers.error && html`<p role="status">Loading…</p>`}
    ${programmers.data && shown.length === 0 && html`<p class="empty">No programmers ${factoryId ? 'in this factory' : 'yet'}${mayProvision ? html`: provision one above, or with <code>flashline programmers add</code>` : ''}.</p>`}
    ${shown.length > 0 &&
    html`<${TableScroll} label="Programmers"><table>
      <caption class="visually-hidden">Programmers</caption>
      <thead>
        <tr><th scope="col">Programmer</th><th scope="col">Hardware serial</th><th scope="col">Status</th><th scope="col">Factory</th><th scope="col">Groups</th><th scope="col">Last seen</th>${rowActions && html`<th scope="col">Actions</th>`}</tr>
      </thead>
      <tbody>
        ${shown.map(
          (programmer) => html`<tr key=${programmer.programmerId}>
            <td>${programmer.name}</td>
            <td><code>${programmer.hardwareSerial}</code></td>
            <td><${StatusBadge} status=${programmer.status} /></td>
            <td><a href=${href.factory(programmer.factoryId)}>${factoryNames.get(programmer.factoryId) ?? programmer.factoryId}</a></td>
            <td><${ProgrammerGroups} programmer=${programmer} groups=${groupsOf(programmer.factoryId)} onChanged=${groupsChanged} editable=${mayChange(programmer)} /></td>
            <td><${TimeAgo} at=${programmer.lastSeenAt} /></td>
            ${rowActions &&
            html`<td class="row-actions">
              ${mayChange(programmer) && html`<button type="button" aria-label=${`Move ${programmer.name}`} onClick=${() => open('move', programmer)}>Move</button>`}
              ${mayChange(programmer) &&
              (programmer.status === 'active'
                ? html`<button type="button" aria-label=${`Disable ${programmer.name}`} onClick=${() => open('disable', programmer)}>Disable</button>`
                : html`<button type="button" aria-label=${`Enable ${programmer.name}`} onClick=${() => open('enable', programmer)}>Enable</button>`)}
              ${mayDeprovision(programmer) && html`<button type="button" aria-label=${`Deprovision ${programmer.name}`} onClick=${() => open('deprovision', programmer)}>Deprovision</button>`}
            </td>`}
          </tr>`,
        )}
      </tbody>
    </table><//>`}
    ${editing?.kind === 'move' &&
    html`<${FormDialog}
      title=${`Move ${editing.programmer.name}`}
      submitLabel="Move"
      busy=${change.busy}
      error=${change.error}
      onCancel=${() => setEditing(undefined)}
      onSubmit=${async () =>
        finish(
          await change.run(
            () => api.call(contract.updateProgrammer, { params: { programmerId: editing.programmer.programmerId }, body: { factoryId: moveTo } }),
            ({ programmer }) => `${programmer.name} moved to ${factoryNames.get(programmer.factoryId) ?? programmer.factoryId}.`,
          ),
        )}
    >
      <label for="move-to">Factory</label>
      <select id="move-to" value=${moveTo} onChange=${(event: Event) => setMoveTo((event.target as HTMLSelectElement).value)}>
        ${(factories.data ?? []).map((factory) => html`<option value=${factory.factoryId}>${factory.name}</option>`)}
      </select>
      <p class="help">From its next request on, the programmer sees the jobs of the new factory only.</p>
    <//>`}
    ${(editing?.kind === 'disable' || editing?.kind === 'enable') &&
    html`<${ConfirmDialog}
      title=${`${editing.kind === 'disable' ? 'Disable' : 'Enable'} ${editing.programmer.name}?`}
      message=${editing.kind === 'disable' ? 'Its authorizations are refused with programmer_disabled until it is enabled again; its credentials stay valid.' : 'It may ask for authorizations again.'}
      confirmLabel=${editing.kind === 'disable' ? 'Disable programmer' : 'Enable programmer'}
      danger=${editing.kind === 'disable'}
      busy=${change.busy}
      error=${change.error}
      onCancel=${() => setEditing(undefined)}
      onConfirm=${async () =>
        finish(
          await change.run(
            () => api.call(contract.updateProgrammer, { params: { programmerId: editing.programmer.programmerId }, body: { status: editing.kind === 'disable' ? 'disabled' : 'active' } }),
            ({ programmer }) => `${programmer.name} is ${programmer.status}.`,
          ),
        )}
    />`}
    ${editing?.kind === 'deprovision' &&
    html`<${ConfirmDialog}
      title=${`Deprovision ${editing.programmer.name}?`}
      message="Its credentials stop working at once; its results and logs stay. This cannot be undone."
      confirmLabel="Deprovision"
      danger=${true}
      busy=${change.busy}
      error=${change.error}
      onCancel=${() => setEditing(undefined)}
      onConfirm=${async () =>
        finish(await change.run(() => api.call(contract.deprovisionProgrammer, { params: { programmerId: editing.programmer.programmerId } }), () => `${editing.programmer.name} deprovisioned.`))}
    />`}
    ${mayManageGroups && groups.data && html`<${FactoryGroups} factoryId=${factoryId} factoryName=${factoryNames.get(factoryId) ?? factoryId} groups=${groupsOf(factoryId)} onChanged=${groupsChanged} />`}
    ${!factoryId && can(caller, contract.createGroup) && html`<p class="help">Choose a factory to manage its programmer groups.</p>`}
  `;
}

function ProvisionForm({ factories, onProvisioned }: { factories: Factory[] | undefined; onProvisioned: () => void }) {
  const { api } = useConsole();
  const provision = useAction();
  const [name, setName] = useState('');
  const [hardwareSerial, setHardwareSerial] = useState('');
  const [factoryId, setFactoryId] = useState('');
  const [keyIds, setKeyIds] = useState('');
  const [issued, setIssued] = useState<{ name: string; credentials: CredentialsFileType } | undefined>();

  const submit = async (event: Event) => {
    event.preventDefault();
    const encryptionKeyIds = parseKeyIds(keyIds);
    const done = await provision.run(
      () => api.call(contract.provisionProgrammer, { body: { name, hardwareSerial, factoryId: factoryId || undefined, ...(encryptionKeyIds.length > 0 && { encryptionKeyIds }) } }),
      ({ programmer }) => `${programmer.name} provisioned.`,
    );
    if (!done) return;
    setIssued({ name: done.value.programmer.name, credentials: done.value.credentials });
    setName('');
    setHardwareSerial('');
    setKeyIds('');
    onProvisioned();
  };

  return html`<section aria-labelledby="provision-heading">
    <h2 id="provision-heading">Provision a programmer</h2>
    ${issued
      ? html`<${CredentialsDownload} name=${issued.name} credentials=${issued.credentials} onDone=${() => setIssued(undefined)} />`
      : html`<form class="grid-form" onSubmit=${submit}>
          <label for="programmer-name">Name</label>
          <input id="programmer-name" value=${name} required maxlength="100" onInput=${(event: Event) => setName((event.target as HTMLInputElement).value)} />
          <label for="programmer-serial">Hardware serial</label>
          <input id="programmer-serial" value=${hardwareSerial} required maxlength="128" onInput=${(event: Event) => setHardwareSerial((event.target as HTMLInputElement).value)} />
          <label for="programmer-factory">Factory</label>
          <select id="programmer-factory" value=${factoryId} onChange=${(event: Event) => setFactoryId((event.target as HTMLSelectElement).value)}>
            <option value="">The default factory</option>
            ${(factories ?? []).map((factory) => html`<option value=${factory.factoryId}>${factory.name}</option>`)}
          </select>
          <label for="programmer-keys">Encryption key ids</label>
          <input id="programmer-keys" value=${keyIds} aria-describedby="programmer-keys-help" onInput=${(event: Event) => setKeyIds((event.target as HTMLInputElement).value)} />
          <p id="programmer-keys-help" class="help">Optional: the ids of the image encryption keys loaded on it, separated by commas.</p>
          <button type="submit" class="primary" disabled=${provision.busy}>${provision.busy ? 'Provisioning…' : 'Provision'}</button>
        </form>`}
    <${ActionFeedback} action=${provision} failedTitle="Could not provision the programmer" />
  </section>`;
}
