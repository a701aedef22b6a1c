// The approvals inbox (the dashboard's <molam-approvals>): the requests the
// person may sign, each with its summary, the signatures so far and the time
// left, signed or declined after a confirmation; then the person's own
// requests and how far they got. Read again whenever the live summary's
// approvals revision moves.

import { useState } from "react";
import { Text, View } from "react-native";
import { formatNumber } from "@molam/ops-widgets-react/format";
import { useAction, useLocale, useMe, useOpsClient, useResource, useSummary } from "@molam/ops-widgets-react/hooks";
import type { ActionResult, OpsClient } from "@molam/ops-sdk";
import { type ApprovalLike, closedText, errorText, interpolate, outcomeText, progress, signers } from "@molam/ops-widgets-react/model";
import { useTheme } from "../theme";
import { Button } from "../ui/Button";
import { Card, Pill, type Tone } from "../ui/Card";
import { ConfirmModal } from "../ui/ConfirmModal";
import { Field } from "../ui/Field";
import { Message, type MessageKind } from "../ui/Message";
import { TimeLeft } from "../ui/TimeLeft";
import { ErrorState, Skeleton } from "../ui/States";

const TITLE = "Approvals";
const DAY = 86400000;
const OPEN = new Set(["pending", "approved"]); // approved: a plan's token not used yet
const TONES: Record<string, Tone> = { pending: "wait", approved: "ok", executed: "ok", declined: "error", failed: "error" };

export interface ApprovalsProps {
  /** After a signature or a decline the server took. */
  onSuccess?: (result: ActionResult<unknown>) => void;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function readInbox(client: OpsClient, canSign: boolean) {
  const [toSign, own] = await Promise.all([
    canSign
      ? collect(client.list("/api/ops/pending-approvals", { signable: true }))
      : client.pendingApprovals(),
    collect(client.list("/api/ops/approvals", { mine: true })),
  ]);
  // one's own: those still open, and those that ended in the last day
  const since = Date.now() - DAY;
  const recent = (own as unknown as ApprovalLike[]).filter(
    (a) => OPEN.has(a.status ?? "") || Date.parse(a.decided_at || a.expires_at || "") > since,
  );
  return { toSign: toSign as unknown as ApprovalLike[], own: recent };
}

type Decision = { approval: ApprovalLike; decision: "approve" | "decline" };

export function Approvals({ onSuccess }: ApprovalsProps) {
  const { styles } = useTheme();
  const locale = useLocale();
  const client = useOpsClient();
  const me = useMe();
  const kpis = useSummary();
  const canSign = me.can("approve");
  const revision = kpis.summary?.approvals.revision ?? "";
  const inbox = useResource(async () => (me.data ? readInbox(client, canSign) : null), {
    refreshOn: `${revision} ${canSign} ${me.data?.id ?? ""}`,
  });
  const [deciding, setDeciding] = useState<Decision | null>(null);
  const [comment, setComment] = useState("");
  const [notice, setNotice] = useState<{ kind: MessageKind; text: string } | null>(null);
  const sign = useAction<{ id: string; decision: "approve" | "decline"; comment: string }>((b, o) =>
    client.approve(b.id, { decision: b.decision, comment: b.comment }, o),
  );

  if (me.status === "loading" || (me.data && inbox.status === "loading") || (me.data && !inbox.data && !inbox.error)) {
    return <Skeleton title={TITLE} />;
  }
  if (!me.data || !inbox.data) {
    const retry = () => {
      if (!me.data) void me.reload();
      void inbox.reload();
    };
    return <ErrorState title={TITLE} error={me.error ?? inbox.error} onRetry={retry} />;
  }
  const who = me.data;
  const toSign = inbox.data.toSign.filter((a) => a.initiator_id !== who.id);
  const own = inbox.data.own;
  const why = canSign
    ? undefined
    : interpolate(
        "You can follow these requests but not sign them: signing needs the pay_admin or finance_ops role (yours: %(roles)s).",
        { roles: who.roles.join(", ") || "none" },
      );
  const declining = deciding?.decision === "decline";

  const confirm = async () => {
    if (!deciding?.approval.id) return;
    const result = await sign.run({ id: deciding.approval.id, decision: deciding.decision, comment: comment.trim() });
    if (!result) return;
    setDeciding(null);
    setNotice({ kind: "ok", text: outcomeText(result.body, locale) });
    void inbox.reload();
    void kpis.reload();
    onSuccess?.(result);
  };
  const open = (approval: ApprovalLike, decision: "approve" | "decline") => {
    sign.reset();
    setComment("");
    setDeciding({ approval, decision });
  };

  return (
    <Card title={TITLE}>
      {why ? <Message kind="info" text={why} /> : null}
      {inbox.error ? (
        <Message kind="error" text={`Could not refresh the requests. ${errorText(inbox.error)}`} />
      ) : null}
      {notice ? <Message kind={notice.kind} text={notice.text} testID="notice" /> : null}
      <Text style={styles.subtitle} accessibilityRole="header">
        {canSign ? "To sign" : "Waiting for signatures"}
      </Text>
      {toSign.length ? (
        <View accessibilityRole="list">
          {toSign.map((a) => (
            <View key={a.id} style={styles.item} testID={`to-sign-${a.id ?? ""}`}>
              <Text style={styles.text}>{a.summary}</Text>
              <Text style={styles.muted}>
                {progress(a, locale)}
                {a.expires_at ? " · " : null}
                {a.expires_at ? <TimeLeft iso={a.expires_at} /> : null}
              </Text>
              <View style={styles.row}>
                <Button
                  label="Sign"
                  variant="primary"
                  disabled={!canSign}
                  reason={why}
                  showReason={false}
                  onPress={() => open(a, "approve")}
                />
                <Button
                  label="Decline"
                  disabled={!canSign}
                  reason={why}
                  showReason={false}
                  onPress={() => open(a, "decline")}
                />
              </View>
            </View>
          ))}
        </View>
      ) : (
        <Text style={styles.muted}>{canSign ? "Nothing waits for your signature." : "No request is waiting for signatures."}</Text>
      )}
      <Text style={styles.subtitle} accessibilityRole="header">
        Your requests
      </Text>
      {own.length ? (
        <View accessibilityRole="list">
          {own.map((a) => (
            <View key={a.id} style={styles.item}>
              <Text style={styles.text}>{a.summary}</Text>
              <View style={styles.row}>
                <Pill tone={TONES[a.status ?? ""] ?? "neutral"} text={a.status ?? ""} />
                <Text style={styles.muted}>
                  {`${progress(a, locale)} · `}
                  {OPEN.has(a.status ?? "") && a.expires_at ? <TimeLeft iso={a.expires_at} /> : closedText(a, locale)}
                </Text>
              </View>
            </View>
          ))}
        </View>
      ) : (
        <Text style={styles.muted}>None in the last 24 hours.</Text>
      )}
      {deciding ? (
        <ConfirmModal
          visible
          title={declining ? "Decline this request?" : "Sign this request?"}
          text={deciding.approval.summary ?? ""}
          confirmLabel={declining ? "Decline" : "Sign"}
          busyLabel={declining ? "Declining…" : "Signing…"}
          danger={declining}
          busy={sign.pending}
          error={sign.error}
          blocked={declining && !comment.trim() ? "Say why you decline." : undefined}
          onConfirm={() => void confirm()}
          onCancel={() => setDeciding(null)}
        >
          {declining ? null : (
            <Text style={styles.muted}>
              {interpolate("Yours would be signature %(current)s of %(required)s.", {
                current: formatNumber(signers(deciding.approval).length + 1, { locale }),
                required: formatNumber(deciding.approval.required_approvals ?? 0, { locale }),
              })}
            </Text>
          )}
          <Field
            label={declining ? "Why do you decline? (required)" : "Comment (optional)"}
            value={comment}
            onChangeText={setComment}
            multiline
            maxLength={1000}
          />
        </ConfirmModal>
      ) : null}
    </Card>
  );
}
