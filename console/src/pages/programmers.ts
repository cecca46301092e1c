import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import { ErrorNotice } from '../components/error-notice.js';
import { FactoryGroups, ProgrammerGroups } from '../components/group-editor.js';
import { StatusBadge } from '../components/status-badge.js';
import { TimeAgo } from '../components/time-ago.js';
import { useConsole, usePolling } from '../hooks.js';
import { href } from '../router.js';

export function ProgrammersPage() {
  const { api } = useConsole();
  const [factoryId, setFactoryId] = useState('');
  const programmers = usePolling(() => api.listAll(contract.listProgrammers, { query: { limit: 100 } }), 15_000, []);
  const factories = usePolling(() => api.listAll(contract.listFactories, { query: { limit: 100 } }), null, []);
  const factoryNames = new Map((factories.data ?? []).map((factory) => [factory.factoryId, factory.name]));
  const shown = (programmers.data ?? []).filter((programmer) => !factoryId || programmer.factoryId === factoryId);
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

  return html`
    <h1>Programmers</h1>
    <div class="toolbar">
      <label>Factory <select value=${factoryId} onChange=${(event: Event) => setFactoryId((event.target as HTMLSelectElement).value)}>
        <option value="">All factories</option>
        ${(factories.data ?? []).map((factory) => html`<option value=${factory.factoryId}>${factory.name}</option>`)}
      </select></label>
      <button type="button" onClick=${programmers.reload}>Refresh</button>
    </div>
    <${ErrorNotice} error=${programmers.error ?? factories.error} title="Could not load the programmers" />
    ${programmers.data === undefined && !programmers.error && html`<p role="status">Loading…</p>`}
    ${programmers.data && shown.length === 0 && html`<p class="empty">No programmers yet. Provision one with <code>flashline programmers add</code>.</p>`}
    ${shown.length > 0 &&
    html`<table>
      <caption class="visually-hidden">Programmers</caption>
      <thead>
        <tr><th scope="col">Programmer</th><th scope="col">Hardware serial</th><th scope="col">Status</th><th scope="col">Factory</th><th scope="col">Groups</th><th scope="col">Last seen</th></tr>
      </thead>
      <tbody>
        ${shown.map(
          (programmer) => html`<tr key=${programmer.programmerId}>
            <td>${programmer.name}</td>
            <td><code>${programmer.hardwareSerial}</code></td>
            <td><${StatusBadge} status=${programmer.status} /></td>
            <td><a href=${href.factory(programmer.factoryId)}>${factoryNames.get(programmer.factoryId) ?? programmer.factoryId}</a></td>
            <td><${ProgrammerGroups} programmer=${programmer} groups=${groupsOf(programmer.factoryId)} onChanged=${groupsChanged} /></td>
            <td><${TimeAgo} at=${programmer.lastSeenAt} /></td>
          </tr>`,
        )}
      </tbody>
    </table>`}
    ${factoryId && groups.data && html`<${FactoryGroups} factoryId=${factoryId} factoryName=${factoryNames.get(factoryId) ?? factoryId} groups=${groupsOf(factoryId)} onChanged=${groupsChanged} />`}
    ${!factoryId && html`<p class="help">Choose a factory to manage its programmer groups.</p>`}
  `;
}
