import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import { ACCOUNT_ROLES, type AccountRole } from '../../../shared/contract/route.js';
import type { CredentialsFileType, ResponseOf } from '../../../shared/contract/index.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { ErrorNotice } from '../components/error-notice.js';
import { StatusBadge } from '../components/status-badge.js';
import { TimeAgo } from '../components/time-ago.js';
import { type FlashlineApiError } from '../api.js';
import { asApiError, useConsole, usePolling } from '../hooks.js';
import { can } from '../permissions.js';
import { TableScroll } from '../components/table-scroll.js';
import { useLeaveWarning } from '../router.js';

type ApiKey = ResponseOf<typeof contract.listApiKeys>['items'][number];

const ROLE_HELP: Record<AccountRole, string> = {
  viewer: 'reads jobs, programmers, results and logs',
  operator: 'a viewer who also pauses, resumes and restarts jobs',
  author: 'an operator who also registers images and replaces and deletes jobs',
  admin: 'the whole account: factories, programmers, keys, audit (never limited to factories)',
};

/** A file name the browser saves under: the key's name, tamed. */
function fileNameOf(name: string): string {
  return `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'api-key'}.credentials.json`;
}

function download(credentials: CredentialsFileType, name: string): void {
  const url = URL.createObjectURL(new Blob([`${JSON.stringify(credentials, null, 2)}\n`], { type: 'application/json' }));
  const link = Object.assign(document.createElement('a'), { href: url, download: fileNameOf(name) });
  link.click();
  URL.revokeObjectURL(url);
}

/** Admins create keys (a role, optionally limited to factories), see them listed (never a token) and revoke them. */
export function ApiKeysPage() {
  const { api, caller } = useConsole();
  const keys = usePolling(() => api.listAll(contract.listApiKeys, { query: { limit: 100 } }), null, []);
  const factories = usePolling(() => api.listAll(contract.listFactories, { query: { limit: 100 } }), null, []);
  const factoryNames = new Map((factories.data ?? []).map((factory) => [factory.factoryId, factory.name]));
  const [created, setCreated] = useState<{ name: string; credentials: CredentialsFileType } | undefined>();
  const [revoking, setRevoking] = useState<ApiKey | undefined>();
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<FlashlineApiError | undefined>();
  const [notice, setNotice] = useState<string | undefined>();

  if (!can(caller, contract.listApiKeys)) {
    return html`<h1>API keys</h1>
      <p class="empty">Only an admin manages API keys; you are signed in as ${caller.role}.</p>`;
  }

  const revoke = async (key: ApiKey) => {
    setBusy(true);
    try {
      await api.call(contract.revokeApiKey, { params: { keyId: key.keyId } });
      setNotice(`Revoked ${key.name}: it stops working within 30 seconds.`);
      setActionError(undefined);
      keys.reload();
    } catch (error) {
      setActionError(asApiError(error));
    } finally {
      setBusy(false);
      setRevoking(undefined);
    }
  };

  return html`
    <h1>API keys</h1>
    <p class="help">Keys are for tools and scripts (the CLI, CI). Each has a role; a key limited to factories sees nothing of the others.</p>
    ${created && html`<${CreatedKey} created=${created} onDone=${() => setCreated(undefined)} />`}
    ${!created &&
    html`<${CreateKeyForm}
      factories=${factories.data ?? []}
      onCreated=${(name: string, credentials: CredentialsFileType) => {
        setCreated({ name, credentials });
        setNotice(undefined);
        keys.reload();
      }}
    />`}
    ${notice && html`<p class="notice" role="status">${notice}</p>`}
    <${ErrorNotice} error=${actionError} title="Could not revoke the key" />
    <h2>Keys of this account</h2>
    <${ErrorNotice} error=${keys.error ?? factories.error} title="Could not load the keys" />
    ${keys.data === undefined && !keys.error && html`<p role="status">Loading…</p>`}
    ${keys.data && keys.data.length === 0 && html`<p class="empty">No keys yet.</p>`}
    ${keys.data &&
    keys.data.length > 0 &&
    html`<${TableScroll} label="API keys"><table>
      <caption class="visually-hidden">API keys</caption>
      <thead>
        <tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Factories</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr>
      </thead>
      <tbody>
        ${keys.data.map(
          (key) => html`<tr key=${key.keyId}>
            <td>${key.name}${key.keyId === caller.keyId && html` <span class="tag">this key</span>`}<div class="details"><code>${key.keyId}</code></div></td>
            <td>${key.role}</td>
            <td>${key.factoryIds ? key.factoryIds.map((id) => factoryNames.get(id) ?? id).join(', ') : 'All factories'}</td>
            <td><${StatusBadge} status=${key.status} /></td>
            <td><${TimeAgo} at=${key.createdAt} /></td>
            <td>
              ${key.status === 'active' &&
              key.keyId !== caller.keyId &&
              html`<button type="button" class="danger" aria-label=${`Revoke ${key.name}`} onClick=${() => setRevoking(key)}>Revoke</button>`}
            </td>
          </tr>`,
        )}
      </tbody>
    </table><//>`}
    ${revoking &&
    html`<${ConfirmDialog}
      title="Revoke this key?"
      message=${`"${revoking.name}" stops working within 30 seconds; whoever uses it is signed out. This cannot be undone.`}
      confirmLabel="Revoke key"
      danger=${true}
      busy=${busy}
      onConfirm=${() => revoke(revoking)}
      onCancel=${() => setRevoking(undefined)}
    />`}
  `;
}

function CreateKeyForm({ factories, onCreated }: { factories: { factoryId: string; name: string }[]; onCreated: (name: string, credentials: CredentialsFileType) => void }) {
  const { api } = useConsole();
  const [name, setName] = useState('');
  const [role, setRole] = useState<AccountRole>('viewer');
  const [limited, setLimited] = useState(false);
  const [chosen, setChosen] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<FlashlineApiError | undefined>();
  const scoped = limited && role !== 'admin';

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const body = { name, role, ...(scoped ? { factoryIds: chosen } : {}) };
      const response = await api.call(contract.createApiKey, { body });
      setError(undefined);
      setName('');
      setChosen([]);
      onCreated(response.apiKey.name, response.credentials);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return html`
    <form class="panel" onSubmit=${submit} aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <div class="toolbar">
        <label>Name <input required maxlength="200" value=${name} onInput=${(event: Event) => setName((event.target as HTMLInputElement).value)} /></label>
        <label>Role
          <select value=${role} onChange=${(event: Event) => setRole((event.target as HTMLSelectElement).value as AccountRole)}>
            ${ACCOUNT_ROLES.map((option) => html`<option value=${option}>${option}</option>`)}
          </select>
        </label>
        <span class="help">${ROLE_HELP[role]}</span>
      </div>
      <fieldset disabled=${role === 'admin'}>
        <legend>Factories</legend>
        <label><input type="radio" name="scope" checked=${!scoped} onChange=${() => setLimited(false)} /> All factories</label>
        <label><input type="radio" name="scope" checked=${scoped} onChange=${() => setLimited(true)} /> Only these:</label>
        ${factories.map(
          (factory) => html`<label>
            <input
              type="checkbox"
              disabled=${!scoped}
              checked=${chosen.includes(factory.factoryId)}
              onChange=${(event: Event) => {
                const on = (event.target as HTMLInputElement).checked;
                setChosen(on ? [...chosen, factory.factoryId] : chosen.filter((id) => id !== factory.factoryId));
              }}
            />
            ${factory.name}
          </label>`,
        )}
      </fieldset>
      <${ErrorNotice} error=${error} title="Could not create the key" />
      <button type="submit" class="primary" disabled=${busy || (scoped && chosen.length === 0)}>${busy ? 'Creating…' : 'Create key'}</button>
    </form>
  `;
}

/** The token exists only in this file: shown once, never again (the API stores only its hash). */
function CreatedKey({ created, onDone }: { created: { name: string; credentials: CredentialsFileType }; onDone: () => void }) {
  const [downloaded, setDownloaded] = useState(false);
  useLeaveWarning(downloaded ? undefined : `The token of ${created.name} is not downloaded yet: leaving this page discards it, and it is never shown again. Leave anyway?`);
  return html`
    <section class="panel" aria-labelledby="created-key-title">
      <h2 id="created-key-title">Key created: ${created.name}</h2>
      <p role="status">Download its credentials file now: the token is shown only once.</p>
      <label>Credentials file
        <textarea readonly rows="8" cols="80" value=${JSON.stringify(created.credentials, null, 2)}></textarea>
      </label>
      <div class="toolbar">
        <button type="button" class="primary" onClick=${() => {
            download(created.credentials, created.name);
            setDownloaded(true);
          }}>Download credentials file</button>
        <button type="button" onClick=${onDone}>Done</button>
      </div>
    </section>
  `;
}
