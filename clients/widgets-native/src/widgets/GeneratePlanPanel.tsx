// The parameters of an operational plan (type, time frame, the main
// constraints), progress while it is generated, then its preview: summary,
// status, total, payouts, signatures; execute when allowed (never a plan
// with no step). Calls onPlanGenerated once the plan is ready
// (the dashboard's <molam-plan-panel>).

import { useState } from "react";
import { ActivityIndicator, Text, View } from "react-native";
import { formatMoney, formatNumber } from "@molam/ops-widgets-react/format";
import { useAction, useFollowPlan, useLocale, useMe, useOpsClient } from "@molam/ops-widgets-react/hooks";
import type { Schemas } from "@molam/ops-sdk";
import {
  errorText,
  interpolate,
  isPlanType,
  MOVING,
  PLAN_STATUSES,
  PLAN_TYPES,
  planTypeLabel,
  type PlanLike,
} from "@molam/ops-widgets-react/model";
import { useTheme } from "../theme";
import { Button, Choice } from "../ui/Button";
import { Card, Pair } from "../ui/Card";
import { ConfirmModal } from "../ui/ConfirmModal";
import { Field } from "../ui/Field";
import { Message } from "../ui/Message";
import { ErrorState, Invalid, Skeleton } from "../ui/States";

export type PlanType = GenerateBody["plan_params"]["type"];
const PLAN_TYPE_NAMES: PlanType[] = ["routing_optimization", "float_rebalance", "risk_mitigation"];

export interface GeneratePlanPanelProps {
  planType?: PlanType;
  onPlanGenerated?: (plan: PlanLike) => void;
}

const TITLE = "Operational plan";
const TIMEFRAMES: [number, string][] = [
  [24, "24 hours"],
  [72, "3 days"],
  [168, "7 days"],
];

type GenerateBody = Schemas["GeneratePlanInputRequest"];
type ExecuteBody = Schemas["ExecutePlanInputRequest"];
type Constraints = NonNullable<GenerateBody["plan_params"]["constraints"]>;

// Percentages as the fractions the API takes; empty constraints left out
// (the server's safe defaults apply). Strings, never float arithmetic.
function constraintsOf(minRate: string, maxShare: string, maxCost: string): Constraints {
  const out: Constraints = {};
  const fraction = (value: string) => String(Number(value) / 100);
  if (minRate.trim()) out.min_success_rate = fraction(minRate.trim());
  if (maxShare.trim()) out.max_bank_share = fraction(maxShare.trim());
  if (maxCost.trim()) out.max_cost = maxCost.trim();
  return out;
}

export function GeneratePlanPanel({ planType = "float_rebalance", onPlanGenerated }: GeneratePlanPanelProps) {
  const { styles } = useTheme();
  const locale = useLocale();
  const client = useOpsClient();
  const me = useMe();
  const [type, setType] = useState<PlanType>(planType);
  const [timeframe, setTimeframe] = useState(24);
  const [minRate, setMinRate] = useState("");
  const [maxShare, setMaxShare] = useState("");
  const [maxCost, setMaxCost] = useState("");
  const { plan, following, error: followError, follow: followPlan } = useFollowPlan<PlanLike>();
  const [executing, setExecuting] = useState(false);
  const generate = useAction<GenerateBody>((body, o) => client.generatePlan(body, o));
  const execute = useAction<ExecuteBody>((body, o) => client.executePlan(body, o));

  if (!isPlanType(planType)) {
    return (
      <Invalid
        title={TITLE}
        text={interpolate("Unknown plan type “%(type)s”: use routing_optimization, float_rebalance or risk_mitigation.", {
          type: planType,
        })}
      />
    );
  }
  if (me.status === "loading") return <Skeleton title={TITLE} />;
  if (!me.data) return <ErrorState title={TITLE} error={me.error} onRetry={() => void me.reload()} />;
  if (!me.available("generate_plan")) {
    return (
      <Card title={TITLE}>
        <Message kind="info" text="Plans are not available on this server yet." />
      </Card>
    );
  }
  const allowed = me.can("generate_plan");

  // a plan still generating (or executing) is read again every second
  const follow = async (first: PlanLike, announce: boolean) => {
    const current = await followPlan(first);
    if (current && announce) onPlanGenerated?.(current);
  };

  const submit = async () => {
    const result = await generate.run({
      plan_params: { type, timeframe, constraints: constraintsOf(minRate, maxShare, maxCost) },
    });
    if (result) await follow((result.body as { plan: PlanLike }).plan, true);
  };

  const runExecute = async () => {
    if (!plan) return;
    const token = plan.approval?.approval_token;
    const result = await execute.run(token ? { plan_id: plan.id, approval_token: token } : { plan_id: plan.id });
    if (!result) return;
    setExecuting(false);
    const next = (result.body as { plan?: PlanLike }).plan ?? { ...plan, status: "executing" };
    await follow(next, false);
  };

  return (
    <Card title={TITLE}>
      <Text style={styles.label}>Plan type</Text>
      <View accessibilityRole="radiogroup" accessibilityLabel="Plan type" style={styles.row}>
        {PLAN_TYPE_NAMES.map((value) => (
          <Choice key={value} label={PLAN_TYPES[value]} selected={type === value} onPress={() => setType(value)} />
        ))}
      </View>
      <Text style={styles.label}>Time frame</Text>
      <View accessibilityRole="radiogroup" accessibilityLabel="Time frame" style={styles.row}>
        {TIMEFRAMES.map(([hours, label]) => (
          <Choice key={hours} label={label} selected={timeframe === hours} onPress={() => setTimeframe(hours)} />
        ))}
      </View>
      <Field
        label="Minimum success rate (%)"
        hint="Empty: the health threshold."
        value={minRate}
        onChangeText={setMinRate}
        keyboardType="decimal-pad"
      />
      <Field
        label="Maximum share of one bank (%)"
        hint="Empty: the planner's default."
        value={maxShare}
        onChangeText={setMaxShare}
        keyboardType="decimal-pad"
      />
      <Field label="Maximum fees (USD)" hint="Empty: no limit." value={maxCost} onChangeText={setMaxCost} keyboardType="decimal-pad" />
      <View style={styles.actions}>
        <Button
          label="Generate the plan"
          variant="primary"
          disabled={!allowed}
          busy={generate.pending || following}
          reason="Generating plans needs the pay_admin or ops role."
          onPress={() => void submit()}
        />
      </View>
      {generate.error ? <Message kind="error" text={errorText(generate.error)} /> : null}
      {generate.pending || (following && plan?.status === "generating") ? (
        <View accessibilityLiveRegion="polite" style={styles.row}>
          <ActivityIndicator accessibilityLabel="Generating the plan…" />
          <Text style={styles.text}>Generating the plan…</Text>
        </View>
      ) : null}
      {followError ? <Message kind="error" text={errorText(followError)} /> : null}
      {plan ? (
        <PlanPreview
          plan={plan}
          meId={me.data.id}
          canExecute={me.can("execute_plan")}
          following={following}
          locale={locale}
          onExecute={() => {
            execute.reset();
            setExecuting(true);
          }}
        />
      ) : null}
      {plan ? (
        <ConfirmModal
          visible={executing}
          title="Execute this plan?"
          text={interpolate("%(count)s payouts, %(total)s.", {
            count: formatNumber(plan.payout_count ?? 0, { locale }),
            total: formatMoney(plan.total_amount ?? "0", plan.currency ?? "USD", { locale }),
          })}
          confirmLabel="Execute"
          danger
          busy={execute.pending}
          error={execute.error}
          onConfirm={() => void runExecute()}
          onCancel={() => setExecuting(false)}
        />
      ) : null}
    </Card>
  );
}

interface PreviewProps {
  plan: PlanLike;
  meId: string;
  canExecute: boolean;
  following: boolean;
  locale: string;
  onExecute: () => void;
}

function PlanPreview({ plan, meId, canExecute, following, locale, onExecute }: PreviewProps) {
  const { styles } = useTheme();
  const empty = !(plan.steps ?? []).length;
  const approval = plan.approval ?? null;
  const currency = plan.currency ?? "USD";
  const executable =
    !empty && canExecute && !following && (plan.status === "approved" || (plan.status === "pending" && !plan.approval_required));
  const details = plan.details ?? {};
  const started = ["executing", "executed", "failed", "cancelled"].includes(plan.status) && details.total;
  return (
    <View accessibilityLiveRegion="polite" testID="plan" style={{ gap: 6, marginTop: 12 }}>
      <Text style={styles.subtitle} accessibilityRole="header">
        {plan.summary || "Plan"}
      </Text>
      <Text style={styles.muted} testID="plan-status">
        {`${planTypeLabel(plan.plan_type)} · ${interpolate("Status: %(status)s", {
          status: PLAN_STATUSES[plan.status] ?? plan.status,
        })}`}
      </Text>
      {started ? (
        <Text style={styles.text}>
          {interpolate("%(done)s of %(total)s steps done", {
            done: formatNumber(details.done ?? 0, { locale }),
            total: formatNumber(details.total ?? 0, { locale }),
          })}
        </Text>
      ) : null}
      {empty && !MOVING.has(plan.status) ? <Message kind="info" text="Nothing to do: this plan has no step." /> : null}
      <Pair label="Total" value={formatMoney(plan.total_amount ?? "0", currency, { locale })} testID="plan-total" />
      <Pair label="Payouts" value={formatNumber(plan.payout_count ?? 0, { locale })} />
      {approval?.id ? (
        <Pair
          label="Signatures"
          value={interpolate("%(current)s of %(required)s", {
            current: formatNumber(approval.current_approvals ?? 0, { locale }),
            required: formatNumber(approval.required_approvals ?? 0, { locale }),
          })}
        />
      ) : null}
      {approval?.status === "pending" && approval.initiator_id === meId ? (
        <Message kind="wait" text="Waiting for other approvers to sign this plan." />
      ) : null}
      {executable ? (
        <View style={styles.actions}>
          <Button label="Execute" variant="primary" onPress={onExecute} />
        </View>
      ) : null}
    </View>
  );
}
