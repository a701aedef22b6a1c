// Retry failed payouts in batch, regenerate a settlement report, force a
// reconciliation: each confirmed, each reporting its outcome (the
// dashboard's <molam-quick-actions>; its audit-log download is a browser
// file save, left to the dashboard).

import { useState } from "react";
import { Text, View } from "react-native";
import { useAction, useLocale, useMeAndSummary, useOpsClient } from "@molam/ops-widgets-react/hooks";
import type { ActionResult } from "@molam/ops-sdk";
import { actionOutcome, bankName, interpolate } from "@molam/ops-widgets-react/model";
import { useTheme } from "../theme";
import { Button, Choice } from "../ui/Button";
import { Card } from "../ui/Card";
import { ConfirmModal } from "../ui/ConfirmModal";
import { Field } from "../ui/Field";
import { Message, type MessageKind } from "../ui/Message";
import { ErrorState, Skeleton } from "../ui/States";

const TITLE = "Quick actions";

interface Values {
  bank: string;
  date: string;
  reason: string;
}

interface Item {
  action: "retry_failed_payouts" | "regenerate_settlement_report" | "force_reconciliation";
  label: string;
  text: string;
  needsDate?: boolean;
  needsReason?: boolean;
  body: (v: Values) => Record<string, string>;
}

const withBank = (v: Values): Record<string, string> => (v.bank ? { bank_profile_id: v.bank } : {});

const ITEMS: Item[] = [
  {
    action: "retry_failed_payouts",
    label: "Retry failed payouts",
    text: "Every failed payout (of the bank chosen, or of all banks) goes back to the queue.",
    body: (v) => withBank(v),
  },
  {
    action: "regenerate_settlement_report",
    label: "Regenerate the settlement report",
    text: "The settlement report of the chosen day is built again.",
    needsDate: true,
    body: (v) => ({ date: v.date.trim(), ...withBank(v) }),
  },
  {
    action: "force_reconciliation",
    label: "Force a reconciliation",
    text: "Payouts are reconciled against the banks now, without waiting for the schedule.",
    needsReason: true,
    body: (v) => ({ reason: v.reason.trim(), ...withBank(v) }),
  },
];

function yesterday(): string {
  return new Date(Date.now() - 86400000).toISOString().slice(0, 10);
}

export interface QuickActionsProps {
  onSuccess?: (result: ActionResult<unknown>, action: Item["action"]) => void;
}

export function QuickActions({ onSuccess }: QuickActionsProps) {
  const { styles } = useTheme();
  const locale = useLocale();
  const client = useOpsClient();
  const { me, kpis, gate } = useMeAndSummary();
  const [item, setItem] = useState<Item | null>(null);
  const [values, setValues] = useState<Values>({ bank: "", date: yesterday(), reason: "" });
  const [outcome, setOutcome] = useState<{ kind: MessageKind; text: string } | null>(null);
  const runner = useAction<{ action: Item["action"]; body: Record<string, string> }>((b, o) =>
    client.action(b.action, b.body, o),
  );

  if (gate === "loading") return <Skeleton title={TITLE} />;
  if (gate || !me.data || !kpis.summary) {
    return <ErrorState title={TITLE} error={gate?.error ?? null} onRetry={() => gate?.retry()} />;
  }
  const banks = kpis.summary.banks;

  const open = (next: Item) => {
    runner.reset();
    setValues({ bank: "", date: yesterday(), reason: "" });
    setItem(next);
  };
  const confirm = async () => {
    if (!item) return;
    const result = await runner.run({ action: item.action, body: item.body(values) });
    if (!result) return;
    setItem(null);
    setOutcome(actionOutcome(result, item.label, locale));
    void kpis.reload();
    onSuccess?.(result, item.action);
  };
  const blocked = item?.needsReason && !values.reason.trim() ? "A reason is required." : item?.needsDate && !/^\d{4}-\d{2}-\d{2}$/.test(values.date.trim()) ? "A day is required (YYYY-MM-DD)." : undefined;

  return (
    <Card title={TITLE}>
      <View accessibilityRole="list" style={{ gap: 12 }}>
        {ITEMS.map((it) => {
          const why = !me.available(it.action)
            ? "Not available on this server yet."
            : me.can(it.action)
              ? undefined
              : "Your roles do not allow this action.";
          return <Button key={it.action} label={it.label} disabled={Boolean(why)} reason={why} onPress={() => open(it)} />;
        })}
      </View>
      {outcome ? <Message kind={outcome.kind} text={outcome.text} testID="outcome" /> : null}
      {item ? (
        <ConfirmModal
          visible
          title={interpolate("%(action)s?", { action: item.label })}
          text={item.text}
          confirmLabel="Confirm"
          busy={runner.pending}
          error={runner.error}
          blocked={blocked}
          onConfirm={() => void confirm()}
          onCancel={() => setItem(null)}
        >
          <Text style={styles.label}>Bank</Text>
          <View accessibilityRole="radiogroup" accessibilityLabel="Bank" style={styles.row}>
            <Choice label="All banks" selected={!values.bank} onPress={() => setValues({ ...values, bank: "" })} />
            {banks.map((b) => (
              <Choice
                key={b.id}
                label={bankName(b, locale)}
                selected={values.bank === b.id}
                onPress={() => setValues({ ...values, bank: b.id })}
              />
            ))}
          </View>
          {item.needsDate ? (
            <Field label="Day" hint="YYYY-MM-DD" value={values.date} onChangeText={(date) => setValues({ ...values, date })} />
          ) : null}
          {item.needsReason ? (
            <Field
              label="Reason"
              value={values.reason}
              onChangeText={(reason) => setValues({ ...values, reason })}
              multiline
              maxLength={500}
            />
          ) : null}
        </ConfirmModal>
      ) : null}
    </Card>
  );
}
