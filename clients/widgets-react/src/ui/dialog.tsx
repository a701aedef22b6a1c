// A modal confirmation naming what will happen, with the action's fields:
// the platform's <dialog> (showModal: top layer, focus kept inside, Escape
// cancels), opened when mounted. While the action runs it cannot be
// dismissed; a failure shows in it and its confirm button reads "Retry"
// (the caller's useAction keeps the same Idempotency-Key for that retry).
// Focus goes back to what opened it when it closes.

import { useEffect, useId, useRef, type FormEvent, type ReactNode } from "react";
import type { Failure } from "../hooks/failure.js";
import { errorText } from "../model/errors.js";

// An engine without <dialog> behaviour (jsdom, old WebViews) still shows it.
function showModal(dialog: HTMLDialogElement) {
  if (typeof dialog.showModal === "function") {
    try {
      dialog.showModal();
      return;
    } catch {
      // not connected yet, or already open: shown as a plain open dialog
    }
  }
  dialog.setAttribute("open", "");
}

function closeModal(dialog: HTMLDialogElement) {
  if (typeof dialog.close === "function") {
    if (dialog.open) dialog.close();
  } else {
    dialog.removeAttribute("open");
  }
}

export interface ConfirmDialogProps {
  title: string;
  text: ReactNode;
  /** The form's fields (name attributes give the values' keys). */
  children?: ReactNode;
  confirmLabel: string;
  busyLabel?: string;
  danger?: boolean;
  pending: boolean;
  error: Failure | null;
  onConfirm(values: Record<string, string>): void;
  onClose(): void;
}

export function ConfirmDialog(props: ConfirmDialogProps) {
  const { title, text, children, confirmLabel, busyLabel, danger, pending, error, onConfirm, onClose } = props;
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return undefined;
    const opener = dialog.ownerDocument.activeElement as HTMLElement | null;
    showModal(dialog);
    const first = dialog.querySelector<HTMLElement>("textarea, input, select");
    first?.focus();
    return () => {
      closeModal(dialog);
      opener?.focus?.();
    };
  }, []);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (pending) return;
    const form = event.currentTarget;
    // spaces alone are no reason: required fields must say something
    for (const field of Array.from(form.querySelectorAll<HTMLTextAreaElement | HTMLInputElement>("[required]"))) {
      field.setCustomValidity(field.value.trim() ? "" : "Please say why.");
    }
    if (!form.reportValidity()) return;
    const values: Record<string, string> = {};
    new FormData(form).forEach((value, key) => {
      values[key] = typeof value === "string" ? value.trim() : "";
    });
    onConfirm(values);
  };

  return (
    <dialog
      ref={ref}
      className="molam molam-dialog"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-text`}
      aria-modal="true"
      onCancel={(event) => {
        event.preventDefault();
        if (!pending) onClose();
      }}
    >
      <form method="dialog" onSubmit={submit} noValidate>
        <h3 id={`${id}-title`}>{title}</h3>
        <div id={`${id}-text`}>{typeof text === "string" ? <p>{text}</p> : text}</div>
        {children}
        {error ? (
          <p className="molam-message molam-error" role="alert">
            {errorText(error)}
          </p>
        ) : null}
        <div className="molam-actions">
          <button type="button" className="molam-button" onClick={onClose} disabled={pending}>
            Cancel
          </button>
          <button
            type="submit"
            className={`molam-button ${danger ? "molam-danger" : "molam-primary"}`}
            disabled={pending}
            aria-busy={pending || undefined}
          >
            {pending ? (busyLabel ?? "Working…") : error ? "Retry" : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** A labelled multi-line text field, for reasons and comments. */
export function ReasonField({ label, name = "reason", required = false, maxLength = 500, rows = 3 }: {
  label: string;
  name?: string;
  required?: boolean;
  maxLength?: number;
  rows?: number;
}) {
  const id = useId();
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        name={name}
        rows={rows}
        maxLength={maxLength}
        required={required}
        aria-required={required || undefined}
        onInput={(event) => event.currentTarget.setCustomValidity("")}
      />
    </>
  );
}

/** A modal that is not a confirmation (a bank's details): a title, its
 *  content and a Close button; Escape closes it too. */
export function Modal({ title, children, onClose }: { title: string; children: ReactNode; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return undefined;
    const opener = dialog.ownerDocument.activeElement as HTMLElement | null;
    showModal(dialog);
    return () => {
      closeModal(dialog);
      opener?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className="molam molam-dialog"
      aria-labelledby={`${id}-title`}
      aria-modal="true"
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <h3 id={`${id}-title`}>{title}</h3>
      {children}
      <div className="molam-actions">
        <button type="button" className="molam-button" onClick={onClose}>
          Close
        </button>
      </div>
    </dialog>
  );
}
