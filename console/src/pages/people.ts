import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { FlashlineApiError, Person } from '../api.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { ErrorNotice } from '../components/error-notice.js';
import { asApiError, useConsole, usePolling } from '../hooks.js';
import { can, needsNote } from '../permissions.js';
import { TableScroll } from '../components/table-scroll.js';

type Role = Person['role'];
const ROLES: { role: Role; label: string }[] = [
  { role: 'viewer', label: 'Viewer: reads everything of their factories' },
  { role: 'operator', label: 'Operator: pauses, resumes and restarts jobs' },
  { role: 'author', label: 'Author: images, jobs, replace and delete' },
  { role: 'admin', label: 'Admin: the whole account, people and keys' },
];

/** People and roles (admins only): invite by email, change role and factories, disable, remove. */
export function PeoplePage() {
  const { api, caller } = useConsole();
  const people = usePolling(() => api.listAll(contract.listPeople, { query: { limit: 100 } }), null, []);
  const factories = usePolling(() => api.listAll(contract.listFactories, { query: { limit: 100 } }), null, []);
  const factoryNames = new Map((factories.data ?? []).map((factory) => [factory.factoryId, factory.name]));
  const [error, setError] = useState<FlashlineApiError | undefined>();
  const [invited, setInvited] = useState<{ email: string; temporaryPassword?: string } | undefined>();
  const [removing, setRemoving] = useState<Person | undefined>();
  const [busy, setBusy] = useState(false);

  if (!can(caller, contract.listPeople)) return html`<h1>People</h1><p class="empty">${needsNote(caller, contract.listPeople, 'manages people')}</p>`;

  const act = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      people.reload();
    } catch (problem) {
      setError(asApiError(problem));
    } finally {
      setBusy(false);
    }
  };

  const change = (person: Person, body: { role?: Role; factoryIds?: string[] | null; status?: 'active' | 'disabled' }) =>
    act(() => api.call(contract.updatePerson, { params: { personId: person.personId }, body }));

  return html`
    <h1>People</h1>
    <${InviteForm}
      factories=${factories.data ?? []}
      busy=${busy}
      onInvite=${(body: { email: string; role: Role; factoryIds?: string[] }) =>
        act(async () => {
          setInvited(undefined);
          const answer = await api.call(contract.createPerson, { body });
          setInvited({ email: answer.person.email, temporaryPassword: answer.temporaryPassword });
        })}
    />
    ${invited &&
    html`<div class="notice" role="status">
      <p><strong>${invited.email}</strong> is invited.</p>
      ${invited.temporaryPassword
        ? html`<p>No mail is sent on this stack: hand over the temporary password <code class="secret">${invited.temporaryPassword}</code>. It is shown only now; they choose their own at first sign-in.</p>`
        : html`<p>They get an email with a temporary password.</p>`}
    </div>`}
    <${ErrorNotice} error=${error ?? people.error ?? factories.error} title="Could not change people" />
    ${people.data === undefined && !people.error && html`<p role="status">Loading…</p>`}
    ${people.data && people.data.length === 0 && html`<p class="empty">Nobody is invited yet.</p>`}
    ${people.data &&
    people.data.length > 0 &&
    html`<${TableScroll} label="People"><table>
      <caption class="visually-hidden">People</caption>
      <thead>
        <tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Factories</th><th scope="col">Status</th><th scope="col">Actions</th></tr>
      </thead>
      <tbody>
        ${people.data.map((person) => {
          const self = caller.personId === person.personId;
          return html`<tr key=${person.personId}>
            <td>${person.email}</td>
            <td>
              <select aria-label=${`Role of ${person.email}`} value=${person.role} disabled=${busy || self}
                onChange=${(event: Event) => {
                  const role = (event.target as HTMLSelectElement).value as Role;
                  void change(person, role === 'admin' ? { role, factoryIds: null } : { role });
                }}>
                ${ROLES.map(({ role }) => html`<option value=${role}>${role}</option>`)}
              </select>
            </td>
            <td>${person.factoryIds ? person.factoryIds.map((id) => factoryNames.get(id) ?? id).join(', ') : 'All factories'}</td>
            <td>${person.status}</td>
            <td>
              ${self
                ? html`<span class="help">You</span>`
                : html`<button type="button" disabled=${busy} onClick=${() => change(person, { status: person.status === 'active' ? 'disabled' : 'active' })}>
                      ${person.status === 'active' ? 'Disable' : 'Enable'}<span class="visually-hidden"> ${person.email}</span>
                    </button>
                    <button type="button" class="danger" disabled=${busy} onClick=${() => setRemoving(person)}>Remove<span class="visually-hidden"> ${person.email}</span></button>`}
            </td>
          </tr>`;
        })}
      </tbody>
    </table><//>`}
    ${removing &&
    html`<${ConfirmDialog}
      title=${`Remove ${removing.email}?`}
      message="They can no longer sign in, and the tokens they hold stop working within 30 seconds. Their audit records stay."
      confirmLabel="Remove"
      danger=${true}
      busy=${busy}
      onCancel=${() => setRemoving(undefined)}
      onConfirm=${() => {
        const person = removing;
        setRemoving(undefined);
        void act(() => api.call(contract.deletePerson, { params: { personId: person.personId } }));
      }}
    />`}
  `;
}

interface InviteFormProps {
  factories: { factoryId: string; name: string }[];
  busy: boolean;
  onInvite: (body: { email: string; role: Role; factoryIds?: string[] }) => Promise<void>;
}

function InviteForm({ factories, busy, onInvite }: InviteFormProps) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [scope, setScope] = useState<string[]>([]);
  const scoped = role !== 'admin';
  return html`<h2 id="invite-title">Invite a person</h2>
  <form class="grid-form" aria-labelledby="invite-title"
    onSubmit=${(event: Event) => {
      event.preventDefault();
      void onInvite({ email, role, ...(scoped && scope.length > 0 ? { factoryIds: scope } : {}) }).then(() => {
        setEmail('');
        setScope([]);
      });
    }}>
    <label for="invite-email">Email</label>
    <input id="invite-email" type="email" required autocomplete="off" value=${email} onInput=${(event: Event) => setEmail((event.target as HTMLInputElement).value)} />
    <label for="invite-role">Role</label>
    <select id="invite-role" value=${role} onChange=${(event: Event) => setRole((event.target as HTMLSelectElement).value as Role)}>
      ${ROLES.map(({ role: value, label }) => html`<option value=${value}>${label}</option>`)}
    </select>
    ${scoped &&
    html`<fieldset>
      <legend>Factories (none ticked: all factories)</legend>
      ${factories.map(
        (factory) => html`<label class="check"><input type="checkbox" checked=${scope.includes(factory.factoryId)}
          onChange=${(event: Event) => {
            const on = (event.target as HTMLInputElement).checked;
            setScope((current) => (on ? [...current, factory.factoryId] : current.filter((id) => id !== factory.factoryId)));
          }} /> ${factory.name}</label>`,
      )}
    </fieldset>`}
    <button type="submit" class="primary" disabled=${busy}>Invite</button>
  </form>`;
}
