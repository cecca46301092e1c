import { html } from 'htm/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import * as contract from '../../shared/contract/index.js';
import { type Account, type FlashlineApiError, createApiClient } from './api.js';
import { ErrorNotice } from './components/error-notice.js';
import { Console, asApiError } from './hooks.js';
import { type Caller, can } from './permissions.js';
import { ApiKeysPage } from './pages/api-keys.js';
import { AuditPage } from './pages/audit.js';
import { DashboardPage } from './pages/dashboard.js';
import { FactoriesPage } from './pages/factories.js';
import { FactoryJobsPage } from './pages/factory-jobs.js';
import { ImagePage } from './pages/image.js';
import { PeoplePage } from './pages/people.js';
import { JobPage } from './pages/job.js';
import { ProgrammersPage } from './pages/programmers.js';
import { PublishImagePage } from './pages/publish-image.js';
import { SignInPage } from './pages/sign-in.js';
import { SourcesPage } from './pages/sources.js';
import { UnitLookupPage } from './pages/unit-lookup.js';
import { WebhooksPage } from './pages/webhooks.js';
import { NAV, type Route, confirmLeave, href, titleOf, useRoute } from './router.js';
import {
  type PeopleConfig,
  type Session,
  clearSession,
  completePersonSignIn,
  isPersonSession,
  loadSession,
  refreshDelayMs,
  refreshPersonSession,
  signOutPerson,
} from './session.js';

type State =
  | { kind: 'completing' }
  | { kind: 'checking'; session: Session }
  | { kind: 'signed-out'; notice?: string }
  | { kind: 'signed-in'; session: Session; account: Account; caller: Caller }
  | { kind: 'unreachable'; session: Session; error: FlashlineApiError };

const EXPIRED_NOTICE = 'Your token is no longer accepted (revoked, or the account was removed). Sign in again.';

export function App({ apiUrl, people }: { apiUrl: string; people?: PeopleConfig }) {
  const [state, setState] = useState<State>(() => {
    // Back from the Hosted UI with a code: exchange it before anything else.
    if (people && /[?&](code|error)=/.test(location.search)) return { kind: 'completing' };
    const session = loadSession();
    return session ? { kind: 'checking', session } : { kind: 'signed-out' };
  });
  const route = useRoute();

  const signOut = (notice?: string) => {
    const current = state.kind === 'signed-out' || state.kind === 'completing' ? undefined : state.session;
    // A person also leaves the Hosted UI's session, unless the API refused them (then it says why here).
    if (people && !notice && isPersonSession(current)) {
      void signOutPerson(people, current);
      return;
    }
    clearSession();
    setState({ kind: 'signed-out', notice });
  };

  useEffect(() => {
    if (state.kind !== 'completing' || !people) return;
    completePersonSignIn(people)
      .then((session) => setState(session ? { kind: 'checking', session } : { kind: 'signed-out' }))
      .catch((error: Error) => setState({ kind: 'signed-out', notice: `Sign-in did not complete: ${error.message}` }));
  }, [state.kind]);

  // A person's access token lasts an hour: a fresh one comes a minute before it ends.
  const personSession = state.kind === 'signed-in' && isPersonSession(state.session) ? state.session : undefined;
  useEffect(() => {
    if (!people || !personSession) return;
    const timer = setTimeout(() => {
      refreshPersonSession(people, personSession)
        .then((session) => setState((previous) => (previous.kind === 'signed-in' ? { ...previous, session } : previous)))
        .catch(() => signOut(EXPIRED_NOTICE));
    }, refreshDelayMs(personSession));
    return () => clearTimeout(timer);
  }, [personSession?.expiresAt]);

  const session = state.kind === 'signed-out' || state.kind === 'completing' ? undefined : state.session;
  const api = useMemo(
    () => (session ? createApiClient(apiUrl, session.token, { onUnauthenticated: () => signOut(EXPIRED_NOTICE) }) : undefined),
    [apiUrl, session?.token],
  );

  useEffect(() => {
    if (state.kind !== 'checking' || !api) return;
    api
      .call(contract.getAccount)
      .then(({ account, caller }) => setState({ kind: 'signed-in', session: state.session, account, caller }))
      .catch((error: unknown) => {
        const problem = asApiError(error);
        if (problem.status !== 401) setState({ kind: 'unreachable', session: state.session, error: problem });
      });
  }, [state.kind, api]);

  useEffect(() => {
    document.title = `${titleOf(route)} · Flashline`;
  }, [route]);

  if (state.kind === 'signed-out') {
    return html`<${SignInPage} apiUrl=${apiUrl} people=${people} notice=${state.notice} onSignedIn=${(signedIn: Session) => setState({ kind: 'checking', session: signedIn })} />`;
  }
  if (state.kind === 'checking' || state.kind === 'completing') return html`<main id="main"><p role="status">Signing in…</p></main>`;
  if (state.kind === 'unreachable') {
    return html`<main id="main">
      <h1>Flashline</h1>
      <${ErrorNotice} error=${state.error} title="Could not reach the API" />
      <div class="toolbar">
        <button type="button" class="primary" onClick=${() => setState({ kind: 'checking', session: state.session })}>Try again</button>
        <button type="button" onClick=${() => confirmLeave() && signOut()}>Sign out</button>
      </div>
    </main>`;
  }

  return html`
    <${Console.Provider} value=${{ api: api!, session: state.session, account: state.account, caller: state.caller }}>
      <a class="skip-link" href="#main" onClick=${(event: Event) => {
        // The hash is the router's: move focus without navigating.
        event.preventDefault();
        document.getElementById('main')?.focus();
      }}>Skip to content</a>
      <header class="top">
        <span class="brand">Flashline</span>
        <nav aria-label="Main">
          ${NAV.filter((entry) => can(state.caller, entry.needs) && (!entry.needsUserPool || people)).map((entry) => html`<a key=${entry.href} href=${entry.href} aria-current=${entry.pages.includes(route.page) ? 'page' : undefined}>${entry.label}</a>`)}
        </nav>
        <span class="who">${state.caller.email ? html`${state.caller.email} · ` : ''}${state.account.name} <span class="tag">${state.caller.role}${state.caller.factoryIds && ` · ${state.caller.factoryIds.length} ${state.caller.factoryIds.length === 1 ? 'factory' : 'factories'}`}</span></span>
        <button type="button" onClick=${() => confirmLeave() && signOut()}>Sign out</button>
      </header>
      <main id="main" tabindex="-1">
        <${Page} route=${route} key=${routeKey(route)} />
      </main>
    <//>
  `;
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'dashboard':
      return html`<${DashboardPage} />`;
    case 'factories':
      return html`<${FactoriesPage} />`;
    case 'factory':
      return html`<${FactoryJobsPage} factoryId=${route.factoryId} />`;
    case 'job':
      return html`<${JobPage} jobId=${route.jobId} />`;
    case 'programmers':
      return html`<${ProgrammersPage} />`;
    case 'publish':
      return html`<${PublishImagePage} factoryId=${route.factoryId} />`;
    case 'image':
      return html`<${ImagePage} imageId=${route.imageId} />`;
    case 'audit':
      return html`<${AuditPage} />`;
    case 'sources':
      return html`<${SourcesPage} />`;
    case 'units':
      return html`<${UnitLookupPage} kind=${route.kind} value=${route.value} />`;
    case 'api-keys':
      return html`<${ApiKeysPage} />`;
    case 'people':
      return html`<${PeoplePage} />`;
    case 'webhooks':
      return html`<${WebhooksPage} />`;
    case 'not-found':
      return html`<h1>Page not found</h1>
        <p>Nothing lives at <code>#${route.path}</code>. <a href=${href.dashboard()}>Go to the dashboard</a>.</p>`;
  }
}

function routeKey(route: Route): string {
  return JSON.stringify(route);
}
