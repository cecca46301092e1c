import { type ComponentChildren } from 'preact';
import { html } from 'htm/preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import type { FlashlineApiError } from '../api.js';
import { ErrorNotice } from './error-notice.js';

export interface FormDialogProps {
  title: string;
  submitLabel: string;
  busy?: boolean;
  danger?: boolean;
  error?: FlashlineApiError;
  /** The id of the element inside that says what the dialog is about (a confirmation's message). */
  describedBy?: string;
  onSubmit: () => void;
  onCancel: () => void;
  children: ComponentChildren;
}

/**
 * A native modal <dialog> around a form: the browser traps focus, closes on Escape and gives it
 * the dialog role, so keyboard and screen-reader users get what everyone else gets; Enter in a
 * field submits. The API's refusal shows inside, next to the fields.
 */
export function FormDialog({ title, submitLabel, busy, danger, error, describedBy, onSubmit, onCancel, children }: FormDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return html`
    <dialog
      ref=${ref}
      class="confirm-dialog"
      aria-labelledby=${titleId}
      aria-describedby=${describedBy}
      onCancel=${(event: Event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <form
        class="form"
        onSubmit=${(event: Event) => {
          event.preventDefault();
          onSubmit();
        }}
      >
        <h2 id=${titleId}>${title}</h2>
        ${children}
        <${ErrorNotice} error=${error} title="Refused" />
        <div class="dialog-buttons">
          <button type="button" onClick=${onCancel} disabled=${busy}>Cancel</button>
          <button type="submit" class=${danger ? 'danger' : 'primary'} disabled=${busy}>${busy ? 'Working…' : submitLabel}</button>
        </div>
      </form>
    </dialog>
  `;
}
