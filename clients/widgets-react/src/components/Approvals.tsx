// The approvals inbox: the multi-signature requests the caller may sign,
// each with its summary, the signatures so far and the time left, signed or
// declined after a confirmation; then the caller's own requests and how far
// they got. Read again whenever the live summary's approvals revision moves.

import { useId, useState } from "react";
import type { ActionResult } from "@molam/ops-sdk";
import { formatTimeLeft } from "../format.js";
import { useAction } from "../hooks/useAction.js";
import { useSummary } from "../hooks/useSummary.js";
import { useMe } from "../hooks/useMe.js";
import { useLocale, useOpsClient } from "../hooks/provider.js";
import { useResource } from "../hooks/useResource.js";
import { closedText, outcomeText, progress, signers, type Approval } from "../model/approvals.js";
import { ConfirmDialog, ReasonField } from "../ui/dialog.js";
import { errorText } from "../model/errors.js";
import { collect } from "../model/lists.js";
import { failed } from "../model/retry.js";
import { Card, ErrorState, Message, Pill, Skeleton } from "../ui/parts.js";

const DAY = 86_400_000;
const OPEN = new Set(["pending", "approved"]); // approved: a plan's token not used yet
const PILLS: Record<string, "green" | "yellow" | "red"> = {
  pending: "yellow",
  approved: "green",
  executed: "green",
  declined: "red",
  failed: "red",
};
const TITLE = "Approvals";

export interface ApprovalsProps {
  /** After a signature or a decline. */
  onDecided?: (result: ActionResult<unknown>) => void;
}

type Decision = "approve" | "decline";

export function Approvals({ onDecided }: ApprovalsProps) {
  const client = useOpsClient();
  const locale = useLocale();
  const me = useMe();
  const kpis = useSummary();
  const whyId = useId();
  const canSign = me.can("approve");
  const revision = kpis.summary?.approvals.revision ?? null;
  const lists = useResource(
    async () => {
      const [toSign, own] = await Promise.all([
        collect(client.list("/api/ops/pending-approvals", canSign ? { signable: true } : {})),
        collect(client.list("/api/ops/approvals", { mine: true, limit: 20 }), 20),
      ]);
      // one's own: those still open, and those that ended in the last day
      const now = Date.now();
      const recent = own.filter((a) => OPEN.has(a.status) || now - Date.parse(a.decided_at ?? a.expires_at) < DAY);
      return { toSign, own: recent };
    },
    { deps: [client, canSign], refreshOn: revision },
  );
  const [signing, setSigning] = useState<{ approval: Approval; decision: Decision } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const sign = useAction((body: { id: string; decision: Decision; comment: string }, o) =>
    client.approve(body.id, { decision: body.decision, comment: body.comment }, o),
  );

  if (me.status === "loading" || lists.status === "loading") return <Skeleton title={TITLE} />;
  const failure = failed(
    { ok: Boolean(me.data), error: me.error, reload: me.reload },
    { ok: Boolean(lists.data), error: lists.error, reload: lists.reload },
  );
  if (failure || !me.data || !lists.data) {
    return <ErrorState title={TITLE} error={failure?.error ?? null} onRetry={() => failure?.retry()} />;
  }
  const who = me.data;
  const toSign = lists.data.toSign.filter((a) => a.initiator_id !== who.id);
  const own = lists.data.own;

  return (
    <Card title={TITLE} state={toSign.length || own.length ? "ready" : "empty"}>
      {canSign ? null : (
        <p className="molam-message molam-info" id={whyId}>
          You can follow these requests but not sign them: signing needs the pay_admin or finance_ops role (yours:{" "}
          {who.roles.join(", ") || "none"}).
        </p>
      )}
      {lists.error ? <Message tone="error">Could not refresh the requests. {errorText(lists.error)}</Message> : null}
      <div aria-live="polite">{notice ? <Message tone="ok">{notice}</Message> : null}</div>
      <h3>{canSign ? "To sign" : "Waiting for signatures"}</h3>
      {toSign.length ? (
        <ul className="molam-plain">
          {toSign.map((a) => (
            <li key={a.id} className="molam-item" data-approval={a.id}>
              <p id={`${whyId}-${a.id}`}>{a.summary}</p>
              <p className="molam-muted">
                <span data-field="signatures">{progress(a)}</span> · {formatTimeLeft(a.expires_at)}
              </p>
              <div className="molam-row">
                {(["approve", "decline"] as const).map((decision) => (
                  <button
                    key={decision}
                    type="button"
                    className={`molam-button${decision === "approve" ? " molam-primary" : ""}`}
                    disabled={!canSign}
                    aria-describedby={`${whyId}-${a.id}${canSign ? "" : ` ${whyId}`}`}
                    onClick={() => {
                      setNotice(null);
                      sign.reset();
                      setSigning({ approval: a, decision });
                    }}
                  >
                    {decision === "approve" ? "Sign" : "Decline"}
                  </button>
                ))}
              </div>
            </li>
          ))}
        </ul>
      ) : (
        <p className="molam-muted" data-empty="to-sign">
          {canSign ? "Nothing waits for your signature." : "No request is waiting for signatures."}
        </p>
      )}
      <h3>Your requests</h3>
      {own.length ? (
        <ul className="molam-plain">
          {own.map((a) => (
            <li key={a.id} className="molam-item" data-approval={a.id} data-status={a.status}>
              <p>{a.summary}</p>
              <p className="molam-muted">
                <Pill tone={PILLS[a.status] ?? "neutral"}>{a.status}</Pill>{" "}
                <span data-field="signatures">{progress(a)}</span> ·{" "}
                {OPEN.has(a.status) ? formatTimeLeft(a.expires_at) : closedText(a, locale)}
              </p>
            </li>
          ))}
        </ul>
      ) : (
        <p className="molam-muted" data-empty="mine">
          None in the last 24 hours.
        </p>
      )}
      {signing ? (
        <ConfirmDialog
          title={signing.decision === "decline" ? "Decline this request?" : "Sign this request?"}
          text={signing.approval.summary}
          confirmLabel={signing.decision === "decline" ? "Decline" : "Sign"}
          busyLabel={signing.decision === "decline" ? "Declining…" : "Signing…"}
          danger={signing.decision === "decline"}
          pending={sign.pending}
          error={sign.error}
          onConfirm={(values) =>
            void sign
              .run({ id: signing.approval.id, decision: signing.decision, comment: values["comment"] ?? "" })
              .then((result) => {
                if (!result) return;
                setSigning(null);
                setNotice(outcomeText(result.body as { approval?: unknown; log?: unknown }));
                void lists.reload();
                void kpis.reload();
                onDecided?.(result);
              })
          }
          onClose={() => setSigning(null)}
        >
          {signing.decision === "approve" ? (
            <p className="molam-muted">
              Yours would be signature {signers(signing.approval).length + 1} of {signing.approval.required_approvals}.
            </p>
          ) : null}
          <ReasonField
            name="comment"
            label={signing.decision === "decline" ? "Why do you decline? (required)" : "Comment (optional)"}
            required={signing.decision === "decline"}
            maxLength={1000}
          />
        </ConfirmDialog>
      ) : null}
    </Card>
  );
}
