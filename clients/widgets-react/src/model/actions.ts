// What an ops action's answer tells the person who ran it.

import type { ActionResult } from "@molam/ops-sdk";
import { formatNumber } from "../format.js";
import { interpolate } from "./strings.js";

export interface Outcome {
  /** "wait": accepted (202), signatures or a worker still to come. */
  kind: "ok" | "wait";
  text: string;
}

/** "Retry failed payouts: done (3)." or "Accepted: waiting for signatures
 *  or a worker." — the count is the one the audit log's details carry. */
export function actionOutcome(result: ActionResult<unknown>, label: string, locale: string): Outcome {
  if (result.status === 202) return { kind: "wait", text: "Accepted: waiting for signatures or a worker." };
  const details = ((result.body as { log?: { details?: Record<string, unknown> | null } } | null)?.log?.details ??
    {}) as Record<string, unknown>;
  const count = details["count"] ?? details["retried"] ?? details["payouts"];
  // a count is a number, or a string of digits; anything else is not shown
  const shown = typeof count === "number" || (typeof count === "string" && /^\d+$/.test(count));
  return {
    kind: "ok",
    text: shown
      ? interpolate("%(action)s: done (%(count)s).", { action: label, count: formatNumber(count, { locale }) })
      : interpolate("%(action)s: done.", { action: label }),
  };
}
