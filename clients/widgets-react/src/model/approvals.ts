// Multi-signature requests as every widget words them (the dashboard's
// signing.js): the signatures so far and the outcome of a signature.

import type { Schemas } from "@molam/ops-sdk";
import { formatDateTime, formatNumber } from "../format.js";
import { interpolate, ngettext } from "./strings.js";

export type Approval = Schemas["Approval"];

export interface Signer {
  signer_id: string;
  decision: string;
  comment?: string | null;
}

/** An approval as far as a widget reads it: the schema's Approval, or the
 *  `approval` a plan or a 202 answer carries (fewer fields). */
export interface ApprovalLike {
  id?: string;
  summary?: string;
  status?: string;
  initiator_id?: string;
  required_approvals?: number;
  current_approvals?: number;
  approvers?: readonly Signer[] | null;
  expires_at?: string;
  decided_at?: string | null;
  can_sign?: boolean;
  action_type?: string;
  target?: unknown;
}

type Signatures = Pick<ApprovalLike, "approvers" | "required_approvals">;

export const signers = (a: Pick<ApprovalLike, "approvers">) =>
  (a.approvers ?? []).filter((s) => s.decision === "approve");

/** "1 of 2 signatures, by bruno" (the counts in the reader's locale). */
export function progress(a: Signatures, locale = "en"): string {
  const names = signers(a).map((s) => s.signer_id);
  const required = a.required_approvals ?? 0;
  const counts = { current: formatNumber(names.length, { locale }), required: formatNumber(required, { locale }) };
  const text = interpolate(
    ngettext("%(current)s of %(required)s signature", "%(current)s of %(required)s signatures", required),
    counts,
  );
  return names.length ? interpolate("%(signatures)s, by %(names)s", { signatures: text, names: names.join(", ") }) : text;
}

const OUTCOMES: Record<string, string> = {
  signed: "Signed: %(progress)s.",
  executed: "Signed: the signatures are complete and the action was executed.",
  approved: "Signed: the signatures are complete; the request is approved.",
  failed: "Signed, but the action was refused when it ran: see the audit log.",
  declined: "Declined: the request is closed.",
};

interface SignBody {
  log?: { details?: { result?: string } | null } | null;
  approval?: Signatures | null;
}

/** How a signature ended, as the person who signed reads it. */
export function outcomeText(body: unknown, locale = "en"): string {
  const b = (body ?? {}) as SignBody;
  const result = b.log?.details?.result ?? "signed";
  const text = OUTCOMES[result] ?? OUTCOMES["signed"] ?? "";
  return interpolate(text, { progress: progress(b.approval ?? {}, locale) });
}

/** The id a 409 approval_pending names (error.fields.approval_id). */
export function pendingApprovalId(fields: Record<string, unknown>): string | null {
  const value = ([] as unknown[]).concat(fields["approval_id"] ?? [])[0];
  return typeof value === "string" ? value : null;
}

/** How a request of one's own ended: who declined it and why, or when (its
 *  decision, else its expiry; an empty date counts as none). */
export function closedText(a: Pick<ApprovalLike, "approvers" | "decided_at" | "expires_at">, locale: string): string {
  const decline = (a.approvers ?? []).find((s) => s.decision === "decline");
  if (decline) {
    return decline.comment
      ? interpolate("declined by %(name)s: “%(comment)s”", { name: decline.signer_id, comment: decline.comment })
      : interpolate("declined by %(name)s", { name: decline.signer_id });
  }
  return formatDateTime(a.decided_at || a.expires_at, { locale });
}
