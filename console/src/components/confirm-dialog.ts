import { html } from 'htm/preact';
import { useEffect, useId, useRef } from 'preact/hooks';

export interface ConfirmDialogProps {
  title: string;
  message: string;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}

/**
 * A native modal <dialog>: the browser traps focus, closes on Escape and gives it the dialog
 * role, so keyboard and screen-reader users get the same confirmation as everyone else.
 */
export function ConfirmDialog({ title, message, confirmLabel, danger, busy, onConfirm, onCancel }: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const messageId = useId();
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
      aria-describedby=${messageId}
      onCancel=${(event: Event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <h2 id=${titleId}>${title}</h2>
      <p id=${messageId}>${message}</p>
      <div class="dialog-buttons">
        <button type="button" onClick=${onCancel} disabled=${busy}>Cancel</button>
        <button type="button" class=${danger ? 'danger' : 'primary'} onClick=${onConfirm} disabled=${busy}>${busy ? 'Working…' : confirmLabel}</button>
      </div>
    </dialog>
  `;
}
