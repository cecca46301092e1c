import { html } from 'htm/preact';
import { useId } from 'preact/hooks';
import type { FlashlineApiError } from '../api.js';
import { FormDialog } from './form-dialog.js';

export interface ConfirmDialogProps {
  title: string;
  message: string;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  /** The API's refusal, shown inside: the modal hides everything behind it. */
  error?: FlashlineApiError;
  onConfirm: () => void;
  onCancel: () => void;
}

/** A confirmation: a form dialog whose only content is what will happen. */
export function ConfirmDialog({ title, message, confirmLabel, danger, busy, error, onConfirm, onCancel }: ConfirmDialogProps) {
  const messageId = useId();
  return html`<${FormDialog} title=${title} submitLabel=${confirmLabel} danger=${danger} busy=${busy} error=${error} describedBy=${messageId} onSubmit=${onConfirm} onCancel=${onCancel}>
    <p id=${messageId}>${message}</p>
  <//>`;
}
