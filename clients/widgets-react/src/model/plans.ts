// How a plan reads (the dashboard's plan-view.js): its steps in words with
// bank names, and what it could not do.

import type { OpsClient, Schemas } from "@molam/ops-sdk";
import type { ApprovalLike } from "./approvals.js";
import { errorFromResult } from "./read.js";

export type Plan = Schemas["Plan"] & { approval?: PlanApproval | null };
export interface PlanApproval {
  id?: string;
  status?: string;
  initiator_id?: string;
  required_approvals?: number;
  current_approvals?: number;
  approvers?: { signer_id: string; decision: string }[];
  approval_token?: string;
}

export const PLAN_TYPES = {
  routing_optimization: "Routing optimization",
  float_rebalance: "Float rebalance",
  risk_mitigation: "Risk mitigation",
} as const;
export type PlanType = keyof typeof PLAN_TYPES;

export const isPlanType = (value: string): value is PlanType => value in PLAN_TYPES;

/** A plan type in words, or as it is when this version does not know it. */
export const planTypeLabel = (type: string): string => (isPlanType(type) ? PLAN_TYPES[type] : type);

/** A plan as far as a widget reads it (the fields it shows). */
export interface PlanLike {
  id: string;
  status: string;
  plan_type: string;
  summary?: string | null;
  currency?: string | null;
  total_amount?: string | null;
  payout_count?: number | null;
  steps?: readonly unknown[] | null;
  approval_required?: boolean;
  approval?: (ApprovalLike & { approval_token?: string | null }) | null;
  details?: { done?: number; total?: number } | null;
}

export const PLAN_STATUSES: Record<string, string> = {
  generating: "generating",
  pending: "pending",
  approved: "approved",
  executing: "executing",
  executed: "executed",
  failed: "failed",
  rejected: "rejected",
  cancelled: "cancelled",
};

/** Statuses a plan moves on from by itself: a panel follows them. */
export const MOVING = new Set(["generating", "executing"]);

/** GET /api/ops/plans/{id}; `signal` aborts the read (a superseded poll). */
export async function readPlan(client: OpsClient, id: string, signal?: AbortSignal): Promise<Plan> {
  const result = await client.api.GET("/api/ops/plans/{plan_id}", {
    params: { path: { plan_id: id } },
    ...(signal ? { signal } : {}),
  });
  if (!result.data) throw errorFromResult(result);
  return result.data.plan as Plan;
}

interface Step {
  action?: string;
  count?: number | string | null;
  from_bank_id?: string;
  from_bank?: string;
  to_bank_id?: string;
  to_bank?: string;
  bank_profile_id?: string;
  bank?: string;
  currency?: string;
  amount?: string;
}

/** One step in words: the action and its target, with bank names. */
export function stepText(raw: Record<string, unknown>, names: Map<string, string>): string {
  const step = raw as Step;
  const bank = (ref: string | undefined) => (ref ? (names.get(String(ref)) ?? String(ref)) : "unknown bank");
  const from = bank(step.from_bank_id ?? step.from_bank);
  const to = bank(step.to_bank_id ?? step.to_bank);
  switch (step.action) {
    case "reroute_payouts":
      if (step.count !== undefined && step.count !== null) {
        const n = Number(step.count);
        return `Reroute ${n} ${n === 1 ? "payout" : "payouts"} from ${from} to ${to}`;
      }
      return `Reroute payouts from ${from} to ${to}`;
    case "pause_bank":
      return `Pause ${bank(step.bank_profile_id ?? step.bank)}`;
    case "resume_bank":
      return `Resume ${bank(step.bank_profile_id ?? step.bank)}`;
    case "transfer_funds":
      return `Move ${step.currency ?? ""} float between treasury accounts`;
    default:
      return step.action ?? "";
  }
}

export function stepAmount(raw: Record<string, unknown>): { amount: string; currency?: string } | null {
  const step = raw as Step;
  return step.amount ? (step.currency ? { amount: step.amount, currency: step.currency } : { amount: step.amount }) : null;
}

/** details.unmet: what the plan could not do, and why. */
export function unmet(details: Record<string, unknown> | undefined): string[] {
  const list = Array.isArray(details?.["unmet"]) ? (details["unmet"] as unknown[]) : [];
  return list.map((u) => {
    if (typeof u === "string") return u;
    const o = u as { message?: string; reason?: string; code?: string };
    return o.message ?? o.reason ?? o.code ?? JSON.stringify(u);
  });
}
