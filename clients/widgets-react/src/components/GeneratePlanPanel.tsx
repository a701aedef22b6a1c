// Generate an operational plan: its parameters (type, preselected by the
// prop; time frame; the main constraints), progress while it is generated,
// then its preview (steps with bank names, totals, signatures) and, when
// allowed, Execute (never for a plan with no step). Calls onPlanGenerated.

import { useId, useState, type FormEvent } from "react";
import type { ActionResult, Schemas } from "@molam/ops-sdk";
import { formatMoney, formatNumber } from "../format.js";
import { useAction } from "../hooks/useAction.js";
import { useFollowPlan } from "../hooks/useFollowPlan.js";
import { useMeAndSummary } from "../hooks/useMeAndSummary.js";
import { useLocale, useOpsClient } from "../hooks/provider.js";
import { errorText } from "../model/errors.js";
import { ConfirmDialog } from "../ui/dialog.js";
import { Card, ErrorState, Invalid, Message, Skeleton } from "../ui/parts.js";
import { isPlanType, MOVING, PLAN_TYPES, planTypeLabel, stepAmount, stepText, unmet, type Plan, type PlanType } from "../model/plans.js";
import { bankName } from "../model/summary.js";

export interface GeneratePlanPanelProps {
  planType?: PlanType;
  onPlanGenerated?: (plan: Plan) => void;
}

type GenerateBody = Schemas["GeneratePlanInputRequest"];
const TITLE = "Operational plan";

export function GeneratePlanPanel({ planType = "float_rebalance", onPlanGenerated }: GeneratePlanPanelProps) {
  const client = useOpsClient();
  const locale = useLocale();
  const { me, kpis, gate } = useMeAndSummary();
  const id = useId();
  const { plan, setPlan, following, follow: followPlan } = useFollowPlan<Plan>();
  const [executing, setExecuting] = useState(false);
  const generate = useAction((body: GenerateBody, o) => client.generatePlan(body, o));
  const execute = useAction((body: Schemas["ExecutePlanInputRequest"], o) => client.executePlan(body, o));

  if (!isPlanType(planType)) {
    return (
      <Invalid
        title={TITLE}
        text={`Unknown plan type “${String(planType)}”: use routing_optimization, float_rebalance or risk_mitigation.`}
      />
    );
  }
  if (gate === "loading") return <Skeleton title={TITLE} />;
  if (gate || !me.data || !kpis.summary) {
    return <ErrorState title={TITLE} error={gate?.error ?? null} onRetry={() => gate?.retry()} />;
  }
  if (!me.available("generate_plan")) {
    return (
      <Card title={TITLE} state="empty">
        <Message tone="info">Plans are not available on this server yet.</Message>
      </Card>
    );
  }
  const summary = kpis.summary;
  const names = new Map(summary.banks.map((b) => [b.id, bankName(b, locale)]));
  const allowed = me.can("generate_plan");

  // follow a plan while it moves (generating, executing), one read a second
  // a failed read leaves the plan shown true to its time (this widget does
  // not show the follow's error); the operator can generate again
  const follow = async (start: Plan, announce: boolean) => {
    const current = await followPlan(start);
    if (current && announce) onPlanGenerated?.(current);
  };

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const values = new FormData(event.currentTarget);
    const text = (name: string) => String(values.get(name) ?? "").trim();
    const constraints: Record<string, string> = {};
    // percentages as fractions, written as decimal strings (no float maths on them)
    const fraction = (value: string) => (Number(value) / 100).toString();
    if (text("min_success_rate")) constraints["min_success_rate"] = fraction(text("min_success_rate"));
    if (text("max_bank_share")) constraints["max_bank_share"] = fraction(text("max_bank_share"));
    if (text("max_cost")) constraints["max_cost"] = text("max_cost");
    const body = {
      plan_params: { type: text("type") || planType, timeframe: Number(text("timeframe")), constraints },
    } as GenerateBody;
    setPlan(null);
    void generate.run(body).then((result: ActionResult<unknown> | null) => {
      const generated = (result?.body as { plan?: Plan } | undefined)?.plan;
      if (generated) void follow(generated, true);
    });
  };

  const percentField = (name: string, label: string, hint: string, min: number) => (
    <div>
      <label htmlFor={`${id}-${name}`}>{label}</label>
      <input
        id={`${id}-${name}`}
        name={name}
        type="number"
        inputMode="decimal"
        min={min}
        max={100}
        step={0.1}
        aria-describedby={`${id}-${name}-hint`}
      />
      <p className="molam-muted" id={`${id}-${name}-hint`}>
        {hint}
      </p>
    </div>
  );

  return (
    <Card title={TITLE} state="ready">
      <form onSubmit={submit} noValidate>
        <div style={{ display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(12rem, 1fr))", columnGap: 16 }}>
          <div>
            <label htmlFor={`${id}-type`}>Plan type</label>
            <select id={`${id}-type`} name="type" defaultValue={planType}>
              {Object.entries(PLAN_TYPES).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor={`${id}-timeframe`}>Time frame</label>
            <select id={`${id}-timeframe`} name="timeframe" defaultValue="24">
              <option value="24">24 hours</option>
              <option value="72">3 days</option>
              <option value="168">7 days</option>
            </select>
          </div>
          {percentField("min_success_rate", "Minimum success rate (%)", "Empty: the health threshold.", 0)}
          {percentField("max_bank_share", "Maximum share of one bank (%)", "Empty: the planner's default.", 1)}
          <div>
            <label htmlFor={`${id}-max_cost`}>Maximum fees (USD)</label>
            <input
              id={`${id}-max_cost`}
              name="max_cost"
              type="number"
              inputMode="decimal"
              min={0}
              step={0.01}
              aria-describedby={`${id}-max_cost-hint`}
            />
            <p className="molam-muted" id={`${id}-max_cost-hint`}>
              Empty: no limit.
            </p>
          </div>
        </div>
        <div className="molam-actions">
          <button
            type="submit"
            className="molam-button molam-primary"
            disabled={!allowed || generate.pending || following}
            aria-describedby={allowed ? undefined : `${id}-why`}
          >
            {generate.error ? "Retry" : "Generate the plan"}
          </button>
        </div>
        {allowed ? null : (
          <p className="molam-muted" id={`${id}-why`}>
            Generating plans needs the pay_admin or ops role.
          </p>
        )}
        {generate.error ? <Message tone="error">{errorText(generate.error)}</Message> : null}
      </form>
      <div aria-live="polite">
        {generate.pending || (following && !plan) ? (
          <>
            <p role="status">Generating the plan…</p>
            <progress aria-label="Generating the plan…" />
          </>
        ) : null}
        {plan ? (
          <PlanPreview
            plan={plan}
            names={names}
            locale={locale}
            canExecute={me.can("execute_plan")}
            me={me.data.id}
            onExecute={() => {
              execute.reset();
              setExecuting(true);
            }}
          />
        ) : null}
      </div>
      {executing && plan ? (
        <ConfirmDialog
          title="Execute this plan?"
          text={`${formatNumber(plan.payout_count ?? 0, { locale })} payouts, ${formatMoney(plan.total_amount ?? "0", plan.currency || "USD", { locale })}.`}
          confirmLabel="Execute"
          danger
          pending={execute.pending}
          error={execute.error}
          onConfirm={() => {
            // "" (the field's default) when the plan needed no signatures
            void execute
              .run({ plan_id: plan.id, approval_token: plan.approval?.approval_token ?? "" })
              .then((result) => {
                if (!result) return;
                setExecuting(false);
                const next = (result.body as { plan?: Plan }).plan ?? { ...plan, status: "executing" as const };
                void follow(next, false);
              });
          }}
          onClose={() => setExecuting(false)}
        />
      ) : null}
    </Card>
  );
}

function PlanPreview({ plan, names, locale, canExecute, me, onExecute }: {
  plan: Plan;
  names: Map<string, string>;
  locale: string;
  canExecute: boolean;
  me: string;
  onExecute(): void;
}) {
  const steps = (plan.steps ?? []) as Record<string, unknown>[];
  const empty = steps.length === 0;
  const approval = plan.approval ?? null;
  const currency = plan.currency || "USD";
  const executable =
    !empty && canExecute && (plan.status === "approved" || (plan.status === "pending" && !plan.approval_required));
  const missing = unmet(plan.details as Record<string, unknown> | undefined);
  return (
    <div data-plan={plan.status}>
      <h3 data-field="summary">{plan.summary || "Plan"}</h3>
      <p className="molam-muted">
        <span data-field="type">{planTypeLabel(plan.plan_type)}</span> ·{" "}
        <span data-field="status">Status: {plan.status}</span>
      </p>
      {MOVING.has(plan.status) ? <progress aria-label="In progress" /> : null}
      {empty && !MOVING.has(plan.status) ? (
        <Message tone="info">
          <span data-field="empty">Nothing to do: this plan has no step.</span>
        </Message>
      ) : null}
      {missing.length ? (
        <div className="molam-message molam-wait" data-field="unmet">
          <p>What the plan could not do:</p>
          <ul>
            {missing.map((text, i) => (
              <li key={i}>{text}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <dl>
        <dt>Total</dt>
        <dd data-field="total">{formatMoney(plan.total_amount ?? "0", currency, { locale, currencyDisplay: "auto" })}</dd>
        <dt>Payouts</dt>
        <dd data-field="payouts">{formatNumber(plan.payout_count ?? 0, { locale })}</dd>
        {approval?.id ? (
          <>
            <dt>Signatures</dt>
            <dd data-field="signatures">
              {formatNumber(approval.current_approvals ?? 0, { locale })} of{" "}
              {formatNumber(approval.required_approvals ?? 0, { locale })}
            </dd>
          </>
        ) : null}
      </dl>
      {approval?.status === "pending" && approval.initiator_id === me ? (
        <Message tone="wait">Waiting for other approvers to sign this plan.</Message>
      ) : null}
      {steps.length ? (
        <table>
          <caption className="molam-visually-hidden">Steps</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Action</th>
              <th scope="col" className="molam-num">
                Amount
              </th>
            </tr>
          </thead>
          <tbody>
            {steps.map((step, index) => {
              const money = stepAmount(step);
              return (
                <tr key={index} data-step={index}>
                  <td>{index + 1}</td>
                  <td data-field="step">{stepText(step, names)}</td>
                  <td className="molam-num">
                    {money ? formatMoney(money.amount, money.currency ?? currency, { locale }) : ""}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {executable ? (
        <div className="molam-actions">
          <button type="button" className="molam-button molam-primary" onClick={onExecute}>
            Execute
          </button>
        </div>
      ) : null}
    </div>
  );
}
