import { html } from 'htm/preact';
import type { ComponentChildren } from 'preact';

/**
 * A wide table scrolls sideways inside its own box, so a narrow screen (a phone at 390 px) never
 * scrolls the whole page. The box is in the tab order and named, so keyboard users can scroll it
 * with the arrow keys and screen readers announce what it holds (axe: scrollable-region-focusable).
 */
export function TableScroll({ label, children }: { label: string; children: ComponentChildren }) {
  return html`<div class="table-scroll" role="region" aria-label=${label} tabindex="0">${children}</div>`;
}
