import { html } from 'htm/preact';

/** Colour is a hint only; the status word is always written out. */
export function StatusBadge({ status }: { status: string }) {
  return html`<span class=${`status status-${status}`}>${status}</span>`;
}
