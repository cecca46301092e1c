import { html } from 'htm/preact';
import type { Action } from '../hooks.js';
import { ErrorNotice } from './error-notice.js';

/** The outcome of a form or button: a status line when it worked, the API's error when not. */
export function ActionFeedback({ action, failedTitle }: { action: Action; failedTitle: string }) {
  return html`
    ${action.done && html`<p class="notice" role="status">${action.done}</p>`}
    <${ErrorNotice} error=${action.error} title=${failedTitle} />
  `;
}
