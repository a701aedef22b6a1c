// Multi-signature requests as every widget words them (the dashboard's
// signing.js): the signatures so far and the outcome of a signature.

import type { Schemas } from "@molam/ops-sdk";

export type Approval = Schemas["Approval"];

export const signers = (a: Partial<Pick<Approval, "approvers">>) =>
  (a.approvers ?? []).filter((s) => s.decision === "approve");

/** "1 of 2 signatures, by bruno" */
export function progress(a: Partial<Pick<Approval, "approvers" | "required_approvals">>): string {
  const names = signers(a).map((s) => s.signer_id);
  const required = a.required_approvals ?? 0;
  const text = `${names.length} of ${required} ${required === 1 ? "signature" : "signatures"}`;
  return names.length ? `${text}, by ${names.join(", ")}` : text;
}

/** How a signature ended, as the person who signed reads it. */
export function outcomeText(body: { approval?: unknown; log?: unknown }): string {
  const log = body.log as { details?: { result?: string } } | undefined;
  const result = log?.details?.result ?? "signed";
  switch (result) {
    case "executed":
      return "Signed: the signatures are complete and the action was executed.";
    case "approved":
      return "Signed: the signatures are complete; the request is approved.";
    case "failed":
      return "Signed, but the action was refused when it ran: see the audit log.";
    case "declined":
      return "Declined: the request is closed.";
    default:
      return `Signed: ${progress((body.approval ?? {}) as Partial<Approval>)}.`;
  }
}

/** The id a 409 approval_pending names (error.fields.approval_id). */
export function pendingApprovalId(fields: Record<string, unknown>): string | null {
  const value = ([] as unknown[]).concat(fields["approval_id"] ?? [])[0];
  return typeof value === "string" ? value : null;
}
