import { html } from 'htm/preact';
import * as contract from '../../../shared/contract/index.js';
import { ErrorNotice } from '../components/error-notice.js';
import { useConsole, usePolling } from '../hooks.js';
import { href } from '../router.js';

export function FactoriesPage() {
  const { api } = useConsole();
  const factories = usePolling(() => api.listAll(contract.listFactories, { query: { limit: 100 } }), 15_000, []);
  return html`
    <h1>Factories</h1>
    <${ErrorNotice} error=${factories.error} title="Could not load the factories" />
    ${factories.data === undefined && !factories.error && html`<p role="status">Loading…</p>`}
    ${factories.data &&
    html`<table>
      <caption class="visually-hidden">Virtual Factories of this account</caption>
      <thead>
        <tr><th scope="col">Factory</th><th scope="col">Open jobs</th><th scope="col">Programmers</th><th scope="col">Created</th></tr>
      </thead>
      <tbody>
        ${factories.data.map(
          (factory) => html`<tr key=${factory.factoryId}>
            <td><a href=${href.factory(factory.factoryId)}>${factory.name}</a>${factory.isDefault && html` <span class="tag">default</span>`}</td>
            <td class="number">${factory.openJobCount}</td>
            <td class="number">${factory.programmerCount}</td>
            <td>${new Date(factory.createdAt).toLocaleDateString()}</td>
          </tr>`,
        )}
      </tbody>
    </table>`}
  `;
}
