// A failure for a person: the service's error message with its field errors,
// or the dashboard's sentence when no answer came at all (status 0).

import { isOpsError } from "@molam/ops-sdk";
import type { Failure } from "@molam/ops-widgets-react/hooks";

export function errorText(err: Failure | null | undefined): string {
  if (!err) return "";
  if (isOpsError(err) && err.status === 0) return "The server could not be reached. Check your connection and retry.";
  const fields = isOpsError(err)
    ? Object.entries(err.fields)
        .map(([name, msgs]) => {
          const list = ([] as unknown[]).concat(msgs);
          return `${name}: ${list.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ")}`;
        })
        .join("; ")
    : "";
  return [err.message || "Something went wrong.", fields].filter(Boolean).join(" — ");
}

/** The service's error code of a failure, if it is the SDK's. */
export function errorCode(err: unknown): string | null {
  return isOpsError(err) ? err.code : null;
}
