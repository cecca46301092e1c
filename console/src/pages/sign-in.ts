import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import { type Account, FlashlineApiError, createApiClient } from '../api.js';
import { ErrorNotice } from '../components/error-notice.js';
import { asApiError } from '../hooks.js';
import { CredentialsInputError, type PeopleConfig, type Session, beginPersonSignIn, parseCredentialsInput, saveSession } from '../session.js';

export interface SignInProps {
  apiUrl: string;
  /** The user pool, where the deployment has one: people sign in there; API tokens stay for tools. */
  people?: PeopleConfig;
  notice?: string;
  onSignedIn: (session: Session, account: Account) => void;
}

export function SignInPage({ apiUrl, people, notice, onSignedIn }: SignInProps) {
  const [input, setInput] = useState('');
  const [error, setError] = useState<FlashlineApiError | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    let session: Session;
    try {
      session = parseCredentialsInput(input);
    } catch (problem) {
      if (problem instanceof CredentialsInputError) return setError(new FlashlineApiError(0, 'invalid_credentials_input', problem.message));
      throw problem;
    }
    setBusy(true);
    try {
      // No sign-out hook here: a refused token is this form's own error to show.
      const { account } = await createApiClient(apiUrl, session.token).call(contract.getAccount);
      saveSession(session);
      setInput('');
      onSignedIn(session, account);
    } catch (problem) {
      setError(asApiError(problem));
    } finally {
      setBusy(false);
    }
  };

  return html`
    <main class="sign-in" id="main">
      <h1>Sign in to Flashline</h1>
      ${notice && html`<p class="notice" role="status">${notice}</p>`}
      ${people &&
      html`<section aria-labelledby="person-sign-in">
        <h2 id="person-sign-in">With your Flashline account</h2>
        <p class="help">Your email and password (and your authenticator app, if your account asks for one), or your company's single sign-on.</p>
        <button type="button" class="primary" disabled=${busy} onClick=${() => {
          setBusy(true);
          beginPersonSignIn(people).catch((problem: unknown) => {
            setBusy(false);
            setError(asApiError(problem));
          });
        }}>Sign in with email</button>
      </section>
      <h2>With an API token</h2>`}
      <form onSubmit=${submit}>
        <label for="credentials">API token or credentials file</label>
        <textarea
          id="credentials"
          name="credentials"
          rows="6"
          spellcheck=${false}
          autocomplete="off"
          aria-describedby="credentials-help"
          value=${input}
          onInput=${(event: Event) => setInput((event.target as HTMLTextAreaElement).value)}
        ></textarea>
        <p id="credentials-help" class="help">
          Paste the token, or the whole credentials file (JSON) an admin gave you. It is kept in this tab only and forgotten when you close it.
        </p>
        <button type="submit" class=${people ? '' : 'primary'} disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
      <${ErrorNotice} error=${error} title="Could not sign in" />
      <p class="help">API: <code>${apiUrl}</code></p>
    </main>
  `;
}
