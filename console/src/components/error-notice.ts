import { html } from 'htm/preact';
import type { FlashlineApiError } from '../api.js';

interface Issue {
  path?: string;
  message?: string;
}

/** The API's code and message verbatim: operators quote them in tickets, and codes are stable. */
export function ErrorNotice({ error, title = 'Something went wrong' }: { error: FlashlineApiError | undefined; title?: string }) {
  if (!error) return null;
  const issues = Array.isArray(error.details?.issues) ? (error.details.issues as Issue[]) : [];
  const remaining = error.details?.remaining;
  // A validation error's message is its issues in one line: the list says it once, field by field.
  const first = issues[0];
  const repeated = first !== undefined && error.message.startsWith(`${first.path || 'body'}: ${first.message ?? ''}`);
  return html`
    <div class="error-notice" role="alert">
      <strong>${title}</strong>
      <p><code class="error-code">${error.code}</code> ${repeated ? (issues.length === 1 ? 'This value was refused:' : 'These values were refused:') : error.message}</p>
      ${issues.length > 0 &&
      html`<ul>
        ${issues.map((issue) => html`<li><code>${issue.path || '(body)'}</code>: ${issue.message}</li>`)}
      </ul>`}
      ${typeof remaining === 'number' && html`<p>Remaining: ${remaining}</p>`}
    </div>
  `;
}
