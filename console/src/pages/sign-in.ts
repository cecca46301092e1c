import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import { type Account, FlashlineApiError, createApiClient } from '../api.js';
import { ErrorNotice } from '../components/error-notice.js';
import { asApiError } from '../hooks.js';
import { CredentialsInputError, type Session, parseCredentialsInput, saveSession } from '../session.js';

export interface SignInProps {
  apiUrl: string;
  notice?: string;
  onSignedIn: (session: Session, account: Account) => void;
}

export function SignInPage({ apiUrl, notice, onSignedIn }: SignInProps) {
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
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
      <${ErrorNotice} error=${error} title="Could not sign in" />
      <p class="help">API: <code>${apiUrl}</code></p>
    </main>
  `;
}
