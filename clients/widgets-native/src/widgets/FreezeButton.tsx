// Freeze (or unfreeze) payouts, globally or to one bank, after a
// confirmation with a reason (the dashboard's <molam-freeze-button>). A bank
// freeze runs at once (200); a global one waits for other people's
// signatures (202): the card then shows the request and how far it got, and
// offers no second request meanwhile.

import { useRef, useState } from "react";
import { View, Text } from "react-native";
import { formatNumber } from "@molam/ops-widgets-react/format";
import { useAction, useLocale, useMeAndSummary, useOpsClient, useResource } from "@molam/ops-widgets-react/hooks";
import type { ActionResult } from "@molam/ops-sdk";
import { type ApprovalLike, bankName, errorCode, interpolate, ngettext, progress } from "@molam/ops-widgets-react/model";
import { useTheme } from "../theme";
import { Button } from "../ui/Button";
import { Card, Pill } from "../ui/Card";
import { ConfirmModal } from "../ui/ConfirmModal";
import { Field } from "../ui/Field";
import { Message, type MessageKind } from "../ui/Message";
import { TimeLeft } from "../ui/TimeLeft";
import { ErrorState, Invalid, Skeleton } from "../ui/States";

export type FreezeScope = "global" | { bank_profile_id: string };

export interface FreezeButtonProps {
  scope?: FreezeScope;
  /** After a freeze or unfreeze the server took: status 200 (done) or 202
   *  (a global freeze, waiting for signatures). */
  onSuccess?: (result: ActionResult<unknown>) => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TITLE = "Freeze payouts";

type FreezeBody = { scope: FreezeScope; reason: string };

export function FreezeButton({ scope = "global", onSuccess }: FreezeButtonProps) {
  const { styles } = useTheme();
  const locale = useLocale();
  const client = useOpsClient();
  const { me, kpis, gate } = useMeAndSummary();
  const global = scope === "global";
  const revision = kpis.summary?.approvals.revision ?? "";
  // the global freeze waiting for signatures, read again whenever the
  // summary's approvals revision moves (someone signed, asked, or it expired)
  const waitingRead = useResource(async () => {
    if (!global) return null;
    const open = (await client.pendingApprovals()) as ApprovalLike[];
    return open.find((a) => a.action_type === "freeze_payouts" && isGlobalTarget(a.target)) ?? null;
  }, { refreshOn: `${global} ${revision}` });
  // the failure of the run just awaited (useAction's `error` is state, seen
  // only at the next render): a 409 approval_pending means "asked already"
  const failure = useRef<unknown>(null);
  const remember = <T,>(promise: Promise<T>) =>
    promise.catch((err: unknown) => {
      failure.current = err;
      throw err;
    });
  const freeze = useAction<FreezeBody>((body, o) => remember(client.freezePayouts(body, o)));
  const unfreeze = useAction<FreezeBody>((body, o) => remember(client.unfreezePayouts(body, o)));
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState("");
  const [outcome, setOutcome] = useState<{ kind: MessageKind; text: string } | null>(null);
  const [requested, setRequested] = useState<ApprovalLike | null>(null);

  const bankId = typeof scope === "object" ? scope.bank_profile_id : "";
  if (!global && !UUID.test(bankId)) return <BadScope scope={bankId} />;
  if (gate === "loading") return <Skeleton title={TITLE} />;
  if (gate || !me.data || !kpis.summary) {
    return <ErrorState title={TITLE} error={gate?.error ?? null} onRetry={() => gate?.retry()} />;
  }

  const summary = kpis.summary;
  const bank = global ? null : summary.banks.find((b) => b.id === bankId.toLowerCase());
  if (!global && !bank) return <BadScope scope={bankId} />;
  const name = bank ? bankName(bank, locale) : "All banks";
  const label = bank ? interpolate("payouts to %(bank)s", { bank: name }) : "all payouts";
  const frozen = bank ? bank.frozen && bank.freeze_scope === "bank" : summary.freezes.global;
  const globallyFrozen = bank ? bank.freeze_scope === "global" : false;
  const action = frozen ? "unfreeze_payouts" : "freeze_payouts";
  const runner = frozen ? unfreeze : freeze;
  const waiting = frozen ? null : (waitingRead.data ?? requested);
  const mayRun = me.can(action);
  const needed = me.data.approval_rules?.freeze_global ?? 2;
  const neededText = interpolate(
    ngettext(
      "A global freeze takes effect once %(count)s other person has signed it.",
      "A global freeze takes effect once %(count)s other people have signed it.",
      needed,
    ),
    { count: formatNumber(needed, { locale }) },
  );

  let why: string | undefined;
  if (!mayRun) {
    why = interpolate("Your roles (%(roles)s) do not allow this: freezing needs pay_admin or finance_ops.", {
      roles: me.data.roles.join(", ") || "none",
    });
  } else if (waiting) {
    why =
      waiting.initiator_id === me.data.id
        ? "You have asked for this freeze: it takes effect once signed, and no second request is needed."
        : interpolate("%(name)s has asked for this freeze: it takes effect once signed, and no second request is needed.", {
            name: waiting.initiator_id ?? "",
          });
  }
  const buttonLabel = interpolate(frozen ? "Unfreeze %(scope)s" : "Freeze %(scope)s", { scope: label });
  const freezing = action === "freeze_payouts";

  const open = () => {
    runner.reset();
    setReason("");
    setAsking(true);
  };
  const confirm = async () => {
    failure.current = null;
    const result = await runner.run({ scope, reason: reason.trim() });
    if (!result) {
      if (errorCode(failure.current) === "approval_pending") {
        setAsking(false);
        setOutcome({ kind: "info", text: "This freeze had already been asked for: it is the request shown above." });
        void waitingRead.reload();
      }
      return;
    }
    setAsking(false);
    if (result.status === 202) {
      const approval = ((result.body as { approval?: ApprovalLike }).approval ?? {}) as ApprovalLike;
      setRequested(approval);
      setOutcome({ kind: "wait", text: interpolate("Waiting: %(progress)s", { progress: progress(approval, locale) }) });
      void waitingRead.reload();
    } else {
      setOutcome({ kind: "ok", text: interpolate(freezing ? "Frozen: %(scope)s." : "Unfrozen: %(scope)s.", { scope: label }) });
    }
    void kpis.reload();
    onSuccess?.(result);
  };

  return (
    <Card title={TITLE}>
      <Text style={styles.muted}>{name}</Text>
      {frozen ? (
        <Pill tone="error" text="Frozen" />
      ) : globallyFrozen ? (
        <Pill tone="error" text="Frozen by the global freeze" />
      ) : (
        <Pill tone="ok" text="Payouts flowing" />
      )}
      {/* after a 202 the outcome already says it */}
      {waiting && outcome?.kind !== "wait" ? (
        <Message kind="wait" text={interpolate("Waiting: %(progress)s", { progress: progress(waiting, locale) })}>
          {waiting.expires_at ? " · " : null}
          {waiting.expires_at ? <TimeLeft iso={waiting.expires_at} /> : null}
        </Message>
      ) : null}
      <View style={styles.row}>
        <Button
          label={buttonLabel}
          variant={frozen ? "primary" : "danger"}
          disabled={!mayRun || Boolean(waiting)}
          reason={why}
          onPress={open}
        />
      </View>
      {mayRun && !waiting && freezing && global ? <Text style={styles.muted}>{neededText}</Text> : null}
      {outcome ? <Message kind={outcome.kind} text={outcome.text} testID="outcome" /> : null}
      <ConfirmModal
        visible={asking}
        title={interpolate(freezing ? "Freeze %(scope)s?" : "Unfreeze %(scope)s?", { scope: label })}
        text={
          freezing
            ? global
              ? `No payout will be dispatched anywhere until the freeze is lifted. ${neededText}`
              : "No payout will be dispatched to this bank until the freeze is lifted."
            : "Payouts will be dispatched again."
        }
        confirmLabel={freezing ? "Freeze" : "Unfreeze"}
        busyLabel={freezing ? "Freezing…" : "Unfreezing…"}
        danger={freezing}
        busy={runner.pending}
        error={runner.error}
        blocked={freezing && !reason.trim() ? "A reason is required." : undefined}
        onConfirm={() => void confirm()}
        onCancel={() => setAsking(false)}
      >
        <Field label="Reason" value={reason} onChangeText={setReason} multiline maxLength={500} />
      </ConfirmModal>
    </Card>
  );
}

function isGlobalTarget(target: unknown): boolean {
  return typeof target === "object" && target !== null && (target as { scope?: unknown }).scope === "global";
}

function BadScope({ scope }: { scope: string }) {
  return (
    <Invalid
      title={TITLE}
      text={interpolate("Unknown scope “%(scope)s”: use “global” or the id of a bank.", { scope })}
    />
  );
}
