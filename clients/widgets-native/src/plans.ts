// Plans as the widgets read them, and the one read of a plan by id.

import type { OpsClient } from "@molam/ops-sdk";
import type { ApprovalLike } from "./signing";

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

export const PLAN_TYPES: Record<string, string> = {
  routing_optimization: "Routing optimization",
  float_rebalance: "Float rebalance",
  risk_mitigation: "Risk mitigation",
};

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

/** Statuses a plan moves on from by itself: the panel follows them. */
export const MOVING = new Set(["generating", "executing"]);

export async function readPlan(client: OpsClient, planId: string, signal?: AbortSignal): Promise<PlanLike> {
  const { data, error } = await client.api.GET("/api/ops/plans/{plan_id}", {
    params: { path: { plan_id: planId } },
    ...(signal ? { signal } : {}),
  });
  if (!data) {
    const message = (error as { error?: { message?: string } } | undefined)?.error?.message;
    throw new Error(message || "Something went wrong.");
  }
  return (data as unknown as { plan: PlanLike }).plan;
}
