// What every widget is made of: its card with a title, the loading
// skeleton, the error with its retry button, messages and pills.

import { useId, type ReactNode } from "react";
import type { Failure } from "../hooks/failure.js";
import { errorText } from "../model/errors.js";
import { Styles } from "./styles.js";

export type Tone = "error" | "ok" | "wait" | "info";
export type WidgetState = "loading" | "ready" | "error" | "empty" | "invalid";

/** A widget's frame: its region, labelled by its title; `data-state` says
 *  which state it shows (for pages and tests following along). */
export function Card({ title, state, children, className }: {
  title: string;
  state: WidgetState;
  children?: ReactNode;
  className?: string;
}) {
  const id = useId();
  return (
    <section
      className={`molam molam-card${className ? ` ${className}` : ""}`}
      aria-labelledby={id}
      aria-busy={state === "loading" ? true : undefined}
      data-state={state}
    >
      <Styles />
      <h2 className="molam-title" id={id}>
        {title}
      </h2>
      {children}
    </section>
  );
}

export function Skeleton({ title }: { title: string }) {
  return (
    <Card title={title} state="loading">
      <span className="molam-visually-hidden" role="status">
        Loading…
      </span>
      <div className="molam-skeleton molam-tall" aria-hidden="true" />
      <div className="molam-skeleton" aria-hidden="true" />
      <div className="molam-skeleton" style={{ width: "70%" }} aria-hidden="true" />
    </Card>
  );
}

/** Could not load: why, and a button to try again. */
export function ErrorState({ title, error, onRetry }: { title: string; error: Failure | null; onRetry: () => void }) {
  return (
    <Card title={title} state="error">
      <p className="molam-message molam-error" role="alert">
        Could not load this widget. {errorText(error)}
      </p>
      <div className="molam-actions">
        <button type="button" className="molam-button" onClick={onRetry}>
          Retry
        </button>
      </div>
    </Card>
  );
}

/** A widget given what it cannot work with (a bad prop). */
export function Invalid({ title, text }: { title: string; text: string }) {
  return (
    <Card title={title} state="invalid">
      <p className="molam-message molam-error" role="alert">
        {text}
      </p>
    </Card>
  );
}

export function Message({ tone, children, id }: { tone: Tone; children: ReactNode; id?: string }) {
  return (
    <p className={`molam-message molam-${tone}`} role={tone === "error" ? "alert" : "status"} id={id}>
      {children}
    </p>
  );
}

export function Pill({ tone, children }: { tone: "green" | "yellow" | "red" | "neutral"; children: ReactNode }) {
  return <span className={`molam-pill molam-${tone}`}>{children}</span>;
}

/** "Live · updated …" under the live widgets. */
export function LiveLine({ live, updated }: { live: boolean; updated: string }) {
  return (
    <p className="molam-live">
      {live ? "Live" : "Refreshing periodically"} · updated {updated}
    </p>
  );
}
