import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { statusClass } from './format';
import type { Session, Status } from './types';

/** Small building blocks shared by the pages. */

export function StatusBadge({ status }: { status: Status }) {
  return <span class={`badge ${statusClass(status)}`}>{status}</span>;
}

interface FieldProps {
  /** The API's dotted path of the field: its error (from a 400's `errors`) is shown beside it. */
  name: string;
  label: string;
  errors: Record<string, string>;
  hint?: string;
  children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => JSX.Element;
}

/** A labelled input with its hint and its error from the API right under it, tied by aria-describedby. */
export function Field({ name, label, errors, hint, children }: FieldProps) {
  const id = `field-${name.replace(/[^a-z0-9_]/gi, '-')}`;
  const error = errors[name];
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ');
  return (
    <div class={`field${error ? ' field-invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children({ id, 'aria-invalid': Boolean(error), 'aria-describedby': described || undefined })}
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`} role="alert" data-field={name}>
          {error}
        </p>
      )}
    </div>
  );
}

/** Errors of a 400 that name no field shown on the page (or no field at all). */
export function FormErrors({ errors, shown }: { errors: Record<string, string>; shown: readonly string[] }) {
  const rest = Object.entries(errors).filter(([attr]) => !shown.includes(attr));
  if (!rest.length) return null;
  return (
    <div class="alert" role="alert">
      {rest.map(([attr, detail]) => (
        <p key={attr}>
          {attr ? <code>{attr}</code> : null} {detail}
        </p>
      ))}
    </div>
  );
}

/** Calls `load` now and every `everyMs` while mounted (and `enabled`); the latest result or error. */
export function usePolling<T>(load: () => Promise<T>, everyMs: number, deps: unknown[], enabled = true) {
  const [state, setState] = useState<{ data?: T; error?: Error }>({});
  const loadRef = useRef(load);
  loadRef.current = load;
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const data = await loadRef.current();
        if (!stopped) setState({ data });
      } catch (error) {
        if (!stopped) setState((previous) => ({ ...previous, error: error as Error }));
      }
      if (!stopped && enabled) timer = setTimeout(() => void run(), everyMs);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, everyMs, enabled, tick]);
  return { ...state, reload: () => setTick((value) => value + 1) };
}

/** A modal confirmation (the native <dialog>: focus trapped, Escape cancels). */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={props.onCancel}>
      <h2 id="confirm-title">{props.title}</h2>
      {props.children}
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** The Temporal Web UI page of a workflow, when the API knows where that UI is. */
export function TemporalLink({ session, workflowId, label }: { session: Session; workflowId: string; label?: string }) {
  if (!session.temporal_ui) return null;
  const { url, namespace } = session.temporal_ui;
  const href = `${url}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return (
    <a href={href} target="_blank" rel="noreferrer noopener">
      {label ?? 'Temporal'}
    </a>
  );
}
