// A SIRA suggestion in words: the action it proposes and on what.

import type { Schemas } from "@molam/ops-sdk";
import { planTypeLabel } from "./plans.js";
import { bankName, type BankLike } from "./summary.js";

export type SuggestionAction = Schemas["Suggestion"]["action"];

const ACTIONS: Record<string, string> = {
  freeze_payouts: "Freeze payouts",
  unfreeze_payouts: "Unfreeze payouts",
  pause_bank: "Pause the bank",
  resume_bank: "Resume the bank",
  retry_failed_payouts: "Retry failed payouts",
  generate_plan: "Generate a plan",
};

/** What accepting it would harm if wrong: the confirmation is a danger one. */
const DANGEROUS = new Set(["freeze_payouts", "pause_bank"]);

interface ActionLike {
  action_type?: string;
  payload?: Record<string, unknown> | null;
}

/** "Freeze payouts", or the action type as it is when unknown here. */
export function suggestionAction(action: ActionLike | null | undefined): string {
  const type = action?.action_type ?? "";
  return ACTIONS[type] ?? type;
}

export const isDangerous = (action: ActionLike | null | undefined): boolean =>
  DANGEROUS.has(action?.action_type ?? "");

/** What the action runs on: a bank by name, a plan type, all payouts, a currency. */
export function suggestionTarget(
  action: ActionLike | null | undefined,
  banks: readonly BankLike[],
  locale: string,
): string {
  const payload = (action?.payload ?? {}) as {
    bank_profile_id?: unknown;
    plan_params?: { type?: string };
    scope?: unknown;
    currency?: unknown;
  };
  if (typeof payload.bank_profile_id === "string") {
    const id = payload.bank_profile_id;
    const bank = banks.find((b) => b.id === id);
    return bank ? bankName(bank, locale) : id;
  }
  if (action?.action_type === "generate_plan") return planTypeLabel(payload.plan_params?.type ?? "");
  if (payload.scope === "global") return "all payouts";
  return typeof payload.currency === "string" ? payload.currency : "";
}
