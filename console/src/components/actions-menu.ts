import { html } from 'htm/preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';

export interface MenuAction {
  id: string;
  label: string;
  disabled?: boolean;
}

/**
 * A menu button per the WAI-ARIA pattern: arrow keys move between items, Escape closes and
 * gives focus back to the button, a click outside closes it.
 */
export function ActionsMenu({ label, actions, onSelect }: { label: string; actions: MenuAction[]; onSelect: (id: string) => void }) {
  const [open, setOpen] = useState(false);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const menuRef = useRef<HTMLUListElement>(null);
  const menuId = useId();

  const items = () => Array.from(menuRef.current?.querySelectorAll<HTMLButtonElement>('[role="menuitem"]:not([disabled])') ?? []);

  useEffect(() => {
    if (!open) return;
    items()[0]?.focus();
    const onPointerDown = (event: PointerEvent) => {
      const target = event.target as Node;
      if (!menuRef.current?.contains(target) && !buttonRef.current?.contains(target)) setOpen(false);
    };
    document.addEventListener('pointerdown', onPointerDown);
    return () => document.removeEventListener('pointerdown', onPointerDown);
  }, [open]);

  const close = () => {
    setOpen(false);
    buttonRef.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const list = items();
    const index = list.indexOf(document.activeElement as HTMLButtonElement);
    if (event.key === 'Escape') {
      event.preventDefault();
      close();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      list[(index + step + list.length) % list.length]?.focus();
    } else if (event.key === 'Home' || event.key === 'End') {
      event.preventDefault();
      (event.key === 'Home' ? list[0] : list[list.length - 1])?.focus();
    }
  };

  return html`
    <div class="menu">
      <button
        ref=${buttonRef}
        type="button"
        aria-haspopup="menu"
        aria-expanded=${open}
        aria-controls=${menuId}
        onClick=${() => setOpen(!open)}
      >
        ${label} ▾
      </button>
      ${open &&
      html`<ul ref=${menuRef} id=${menuId} role="menu" aria-label=${label} onKeyDown=${onKeyDown}>
        ${actions.map(
          (action) => html`<li role="none">
            <button
              type="button"
              role="menuitem"
              disabled=${action.disabled}
              onClick=${() => {
                setOpen(false);
                onSelect(action.id);
              }}
            >
              ${action.label}
            </button>
          </li>`,
        )}
      </ul>`}
    </div>
  `;
}
