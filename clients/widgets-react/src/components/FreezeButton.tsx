// Freeze (or unfreeze) payouts, globally or for one bank, after a
// confirmation with a reason. One Idempotency-Key per confirmation, reused
// on retry (useAction). A global freeze needs signatures: a 202 says how
// many it waits for, the request shows as waiting (read again whenever the
// live summary's approvals revision moves) and no second one is offered.

import { useId, useState } from "react";
import type { ActionResult, Schemas } from "@molam/ops-sdk";
import { formatNumber, formatTimeLeft } from "../format.js";
import { useAction } from "../hooks/useAction.js";
import { useMeAndSummary } from "../hooks/useMeAndSummary.js";
import { useLocale, useOpsClient } from "../hooks/provider.js";
import { useResource } from "../hooks/useResource.js";
import { isOpsError } from "../hooks/failure.js";
import { progress, type Approval } from "../model/approvals.js";
import { ConfirmDialog, ReasonField } from "../ui/dialog.js";
import { Card, ErrorState, Invalid, Message, Pill, Skeleton } from "../ui/parts.js";
import { bankName } from "../model/summary.js";
import { collect } from "../model/lists.js";

export type FreezeScope = "global" | { bank_profile_id: string };
type FreezeBody = Schemas["FreezeInputRequest"];

export interface FreezeButtonProps {
  scope?: FreezeScope;
  /** After a freeze or unfreeze: 200 (done) or 202 (waiting for signatures). */
  onSuccess?: (result: ActionResult<unknown>) => void;
  refreshInterval?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TITLE = "Freeze payouts";

export function FreezeButton({ scope = "global", onSuccess, refreshInterval }: FreezeButtonProps) {
  const client = useOpsClient();
  const locale = useLocale();
  const { me, kpis, gate } = useMeAndSummary(refreshInterval === undefined ? {} : { refreshInterval });
  const global = scope === "global";
  const revision = kpis.summary?.approvals.revision ?? null;
  // the global freeze waiting for signatures, if any
  const waitingRead = useResource(
    async () => {
      if (!global) return null;
      const open = await collect(client.list("/api/ops/pending-approvals", { action_type: "freeze_payouts" }));
      return open.find((a) => (a.target as { scope?: unknown }).scope === "global") ?? null;
    },
    { deps: [client, global], refreshOn: revision },
  );
  const [confirming, setConfirming] = useState<"freeze_payouts" | "unfreeze_payouts" | null>(null);
  const [outcome, setOutcome] = useState<{ tone: "ok" | "wait" | "info"; text: string } | null>(null);
  const action = useAction((body: FreezeBody, o) =>
    confirming === "unfreeze_payouts" ? client.unfreezePayouts(body, o) : client.freezePayouts(body, o),
  );
  const whyId = useId();
  // asked for already (by someone else, or in another tab): that request,
  // shown as waiting, rather than an error in the dialog
  const alreadyAsked = isOpsError(action.error) && action.error.code === "approval_pending";

  if (!global && !UUID.test(scope.bank_profile_id)) {
    return <Invalid title={TITLE} text={`Unknown scope “${scope.bank_profile_id}”: use “global” or the id of a bank.`} />;
  }
  if (gate === "loading") return <Skeleton title={TITLE} />;
  if (gate || !me.data || !kpis.summary) {
    return <ErrorState title={TITLE} error={gate?.error ?? null} onRetry={() => gate?.retry()} />;
  }

  const summary = kpis.summary;
  const bank = global ? null : summary.banks.find((b) => b.id === scope.bank_profile_id.toLowerCase());
  if (!global && !bank) {
    return <Invalid title={TITLE} text={`Unknown scope “${scope.bank_profile_id}”: use “global” or the id of a bank.`} />;
  }
  const target = bank
    ? {
        label: `payouts to ${bankName(bank, locale)}`,
        name: bankName(bank, locale),
        frozen: bank.frozen && bank.freeze_scope === "bank",
        globallyFrozen: bank.freeze_scope === "global",
        body: { scope: { bank_profile_id: bank.id } },
      }
    : { label: "all payouts", name: "All banks", frozen: summary.freezes.global, globallyFrozen: false, body: { scope: "global" as const } };
  const name = target.frozen ? "unfreeze_payouts" : "freeze_payouts";
  const waiting: Approval | null = target.frozen ? null : (waitingRead.data ?? null);
  const allowed = me.can(name) && !waiting;
  const needed = me.data.approval_rules?.freeze_global ?? 2;
  const neededText = `A global freeze takes effect once ${formatNumber(needed, { locale })} other ${
    needed === 1 ? "person has" : "people have"
  } signed it.`;
  let why = "";
  if (!me.can(name)) {
    why = `Your roles (${me.data.roles.join(", ") || "none"}) do not allow this: freezing needs pay_admin or finance_ops.`;
  } else if (waiting) {
    why =
      waiting.initiator_id === me.data.id
        ? "You have asked for this freeze: it takes effect once signed, and no second request is needed."
        : `${waiting.initiator_id} has asked for this freeze: it takes effect once signed, and no second request is needed.`;
  }
  const label = `${target.frozen ? "Unfreeze" : "Freeze"} ${target.label}`;

  const confirm = async (values: Record<string, string>) => {
    const result = await action.run({ ...target.body, reason: values["reason"] ?? "" });
    if (!result) void waitingRead.reload();
    if (result) {
      setConfirming(null);
      action.reset();
      if (result.status === 202) {
        const approval = (result.body as { approval?: Approval }).approval;
        const missing = Math.max(0, (approval?.required_approvals ?? needed) - (approval?.current_approvals ?? 0));
        setOutcome({
          tone: "wait",
          text: `Waiting for ${formatNumber(missing, { locale })} ${missing === 1 ? "signature" : "signatures"}.`,
        });
        void waitingRead.reload();
      } else {
        setOutcome({ tone: "ok", text: `${name === "freeze_payouts" ? "Frozen" : "Unfrozen"}: ${target.label}.` });
      }
      void kpis.reload();
      onSuccess?.(result);
    }
  };

  return (
    <Card title={TITLE} state="ready">
      <p className="molam-muted">{target.name}</p>
      <p>
        {target.frozen ? (
          <Pill tone="red">Frozen</Pill>
        ) : target.globallyFrozen ? (
          <Pill tone="red">Frozen by the global freeze</Pill>
        ) : (
          <Pill tone="green">Payouts flowing</Pill>
        )}
      </p>
      {waiting ? (
        <Message tone="wait">
          <span data-outcome="waiting" data-approval={waiting.id}>
            Waiting: {progress(waiting)} · {formatTimeLeft(waiting.expires_at)}
          </span>
        </Message>
      ) : null}
      <div className="molam-row">
        <button
          type="button"
          className={`molam-button ${target.frozen ? "molam-primary" : "molam-danger"}`}
          disabled={!allowed}
          aria-describedby={why ? whyId : undefined}
          onClick={() => {
            setOutcome(null);
            action.reset();
            setConfirming(name);
          }}
        >
          {label}
        </button>
      </div>
      {why ? (
        <p className="molam-muted" id={whyId} data-field="why">
          {why}
        </p>
      ) : global && !target.frozen ? (
        <p className="molam-muted" data-field="needed">
          {neededText}
        </p>
      ) : null}
      {alreadyAsked ? (
        <Message tone="info">This freeze had already been asked for: it is the request shown above.</Message>
      ) : outcome ? (
        <Message tone={outcome.tone}>{outcome.text}</Message>
      ) : null}
      {confirming && !alreadyAsked ? (
        <ConfirmDialog
          title={`${confirming === "freeze_payouts" ? "Freeze" : "Unfreeze"} ${target.label}?`}
          text={
            confirming === "freeze_payouts"
              ? global
                ? `No payout will be dispatched anywhere until the freeze is lifted. ${neededText}`
                : "No payout will be dispatched to this bank until the freeze is lifted."
              : "Payouts will be dispatched again."
          }
          confirmLabel={confirming === "freeze_payouts" ? "Freeze" : "Unfreeze"}
          busyLabel={confirming === "freeze_payouts" ? "Freezing…" : "Unfreezing…"}
          danger={confirming === "freeze_payouts"}
          pending={action.pending}
          error={action.error}
          onConfirm={(values) => void confirm(values)}
          onClose={() => {
            setConfirming(null);
            action.reset();
          }}
        >
          <ReasonField label="Reason" required={confirming === "freeze_payouts"} />
        </ConfirmDialog>
      ) : null}
    </Card>
  );
}
