import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { CredentialsFileType } from '../../../shared/contract/index.js';
import { credentialsFileName } from '../../../shared/domain/credentials-file-name.js';
import { downloadJson } from '../download.js';
import { useLeaveWarning } from '../router.js';

/**
 * A new credentials file, offered exactly once: the API never shows the token again, and the
 * console forgets it as soon as it has been downloaded or dismissed (`onDone`); leaving the page
 * before that asks first.
 */
export function CredentialsDownload({ name, credentials, onDone }: { name: string; credentials: CredentialsFileType; onDone: () => void }) {
  const [confirmDismiss, setConfirmDismiss] = useState(false);
  const fileName = credentialsFileName(name);
  // Until downloaded or discarded, leaving the page would lose the token for good.
  useLeaveWarning(`The credentials of ${name} are not downloaded yet: leaving this page discards them, and the token is never shown again. Leave anyway?`);
  return html`<section class="secret-panel" aria-labelledby="credentials-heading">
    <h2 id="credentials-heading">Credentials of ${name}</h2>
    <p>Download the credentials file now: it holds the secret token, which is shown this once and never again. Keep it where only the programmer and its operators can read it.</p>
    <div class="toolbar">
      <button
        type="button"
        class="primary"
        onClick=${() => {
          downloadJson(fileName, credentials);
          onDone();
        }}
      >
        Download ${fileName}
      </button>
      ${confirmDismiss
        ? html`<span role="alert">Without the file the programmer cannot sign in: deprovision it and provision again if it is lost.</span>
            <button type="button" class="danger" onClick=${onDone}>Discard the credentials</button>`
        : html`<button type="button" onClick=${() => setConfirmDismiss(true)}>Discard…</button>`}
    </div>
  </section>`;
}
