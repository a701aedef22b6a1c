// SIRA's suggestions: the open count (the live summary's) on a button that
// expands the list, each with its confidence. Accept opens a confirmation
// naming the action and its target before running it; decline asks for a
// reason. The dashboard floats this as a badge; here it is a card, and the
// host page places it.

import { useId, useState } from "react";
import type { ActionResult, Schemas } from "@molam/ops-sdk";
import { formatNumber, formatPercent } from "../format.js";
import { useAction } from "../hooks/useAction.js";
import { useMeAndSummary } from "../hooks/useMeAndSummary.js";
import { useLocale, useOpsClient } from "../hooks/provider.js";
import { useResource } from "../hooks/useResource.js";
import { ConfirmDialog, ReasonField } from "../ui/dialog.js";
import { errorText } from "../model/errors.js";
import { collect } from "../model/lists.js";
import { Card, ErrorState, Message, Skeleton } from "../ui/parts.js";
import { isDangerous, suggestionAction, suggestionTarget } from "../model/suggestions.js";

type Suggestion = Schemas["Suggestion"];
type Choice = "accept_suggestion" | "decline_suggestion";

const TITLE = "Suggestions";

export interface SiraSuggestionsProps {
  /** Show the list at once rather than behind the count button. */
  defaultOpen?: boolean;
  onSuccess?: (result: ActionResult<unknown>) => void;
}

export function SiraSuggestions({ defaultOpen = false, onSuccess }: SiraSuggestionsProps) {
  const client = useOpsClient();
  const locale = useLocale();
  const { me, kpis, gate } = useMeAndSummary();
  const id = useId();
  const [open, setOpen] = useState(defaultOpen);
  const [deciding, setDeciding] = useState<{ suggestion: Suggestion; choice: Choice } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const items = useResource(
    async () => (open ? collect(client.list("/api/ops/suggestions", { status: ["open"] })) : []),
    { deps: [client, open] },
  );
  const decide = useAction((body: { id: string; choice: Choice; reason: string }, o) =>
    body.choice === "accept_suggestion"
      ? client.acceptSuggestion(body.id, {}, o)
      : client.declineSuggestion(body.id, { reason: body.reason }, o),
  );

  if (gate === "loading") return <Skeleton title={TITLE} />;
  if (gate || !me.data || !kpis.summary) {
    return <ErrorState title={TITLE} error={gate?.error ?? null} onRetry={() => gate?.retry()} />;
  }
  const summary = kpis.summary;
  const available = summary.suggestions.available;
  const count = items.data && open ? items.data.length : summary.suggestions.open;
  const label = `SIRA suggestions: ${formatNumber(count, { locale })} open`;
  const canAccept = me.can("accept_suggestion");
  const canDecline = me.can("decline_suggestion");
  const why = canAccept && canDecline ? "" : "Your roles do not allow deciding on suggestions.";

  return (
    <Card title={TITLE} state={available ? "ready" : "empty"}>
      {available ? (
        <button
          type="button"
          className="molam-button molam-primary"
          aria-expanded={open}
          aria-controls={`${id}-list`}
          onClick={() => setOpen(!open)}
        >
          {label}
        </button>
      ) : (
        <Message tone="info">Suggestions are not available on this server yet.</Message>
      )}
      {why && available ? (
        <p className="molam-muted" id={`${id}-why`}>
          {why}
        </p>
      ) : null}
      <div aria-live="polite">{notice ? <Message tone="ok">{notice}</Message> : null}</div>
      <div id={`${id}-list`} hidden={!open || !available}>
        {items.status === "loading" ? <p role="status">Loading…</p> : null}
        {items.status === "error" ? <Message tone="error">{errorText(items.error)}</Message> : null}
        {items.data && !items.data.length ? <p className="molam-muted">No open suggestion.</p> : null}
        {items.data && items.data.length ? (
          <ul className="molam-plain">
            {items.data.map((s) => {
              const what = suggestionAction(s.action);
              return (
                <li key={s.id} className="molam-item" data-id={s.id}>
                  <h3>{s.title}</h3>
                  <p className="molam-muted">{s.description}</p>
                  <p data-field="proposed">
                    Proposes: {what} — {suggestionTarget(s.action, summary.banks, locale)}
                  </p>
                  <p>Confidence {formatPercent(s.confidence ?? 0, { locale })}</p>
                  <div className="molam-row">
                    {(["accept_suggestion", "decline_suggestion"] as const).map((choice) => {
                      const allowed = choice === "accept_suggestion" ? canAccept : canDecline;
                      return (
                        <button
                          key={choice}
                          type="button"
                          className={`molam-button${choice === "accept_suggestion" ? " molam-primary" : ""}`}
                          disabled={!allowed}
                          aria-describedby={allowed ? undefined : `${id}-why`}
                          onClick={() => {
                            setNotice(null);
                            decide.reset();
                            setDeciding({ suggestion: s, choice });
                          }}
                        >
                          {choice === "accept_suggestion" ? "Accept" : "Decline"}
                        </button>
                      );
                    })}
                  </div>
                </li>
              );
            })}
          </ul>
        ) : null}
      </div>
      {deciding ? (
        <ConfirmDialog
          title={deciding.choice === "accept_suggestion" ? "Accept this suggestion?" : "Decline this suggestion?"}
          text={
            deciding.choice === "accept_suggestion"
              ? `This runs “${suggestionAction(deciding.suggestion.action)}” on ${suggestionTarget(deciding.suggestion.action, summary.banks, locale)}, as you.`
              : deciding.suggestion.title
          }
          confirmLabel={deciding.choice === "accept_suggestion" ? "Accept" : "Decline"}
          danger={deciding.choice === "accept_suggestion" && isDangerous(deciding.suggestion.action)}
          pending={decide.pending}
          error={decide.error}
          onConfirm={(values) =>
            void decide
              .run({ id: deciding.suggestion.id, choice: deciding.choice, reason: values["reason"] ?? "" })
              .then((result) => {
                if (!result) return;
                setNotice(deciding.choice === "accept_suggestion" ? "Suggestion accepted." : "Suggestion declined.");
                setDeciding(null);
                void items.reload();
                void kpis.reload();
                onSuccess?.(result);
              })
          }
          onClose={() => setDeciding(null)}
        >
          {deciding.choice === "decline_suggestion" ? (
            <ReasonField label="Why decline it? (required)" required />
          ) : null}
        </ConfirmDialog>
      ) : null}
    </Card>
  );
}
