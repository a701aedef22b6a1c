// Plans as the widgets read them, and the one read of a plan by id.

import { OpsError, type OpsClient } from "@molam/ops-sdk";
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
  const { data, error, response } = await client.api.GET("/api/ops/plans/{plan_id}", {
    params: { path: { plan_id: planId } },
    ...(signal ? { signal } : {}),
  });
  if (!data) {
    // the typed raw client answers {error}: the same OpsError the SDK's methods throw
    const body = (error as { error?: { code?: string; message?: string; fields?: Record<string, unknown> } } | undefined)
      ?.error;
    throw new OpsError({
      status: response.status,
      code: (body?.code ?? `http_${response.status}`) as OpsError["code"],
      message: body?.message ?? `${response.status} ${response.statusText}`.trim(),
      fields: body?.fields ?? {},
    });
  }
  return (data as unknown as { plan: PlanLike }).plan;
}
