// A failure for a person: the service's error message with its field errors, or the
// dashboard's sentence when no answer came at all (status 0).

import type { Failure } from "@molam/ops-widgets-react/hooks";

interface WithDetails {
  status?: number;
  message?: string;
  fields?: Record<string, unknown>;
}

export function errorText(err: Failure | null | undefined): string {
  if (!err) return "";
  const e = err as WithDetails;
  if (e.status === 0) return "The server could not be reached. Check your connection and retry.";
  const fields = Object.entries(e.fields ?? {})
    .map(([name, msgs]) => {
      const list = Array.isArray(msgs) ? msgs : [msgs];
      return `${name}: ${list.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ")}`;
    })
    .join("; ");
  return [e.message || "Something went wrong.", fields].filter(Boolean).join(" — ");
}

/** The service's error code of a failure, if it is the SDK's. */
export function errorCode(err: Failure | null | undefined): string | null {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : null;
}
