import { html } from 'htm/preact';
import { formatAgo, formatTime } from '../format.js';

export function TimeAgo({ at }: { at: string | null }) {
  if (!at) return html`<span>never</span>`;
  return html`<time datetime=${at} title=${formatTime(at)}>${formatAgo(at)}</time>`;
}

export function Timestamp({ at }: { at: string | null }) {
  if (!at) return html`<span>—</span>`;
  return html`<time datetime=${at}>${formatTime(at)}</time>`;
}
