import { isOpsError, type Failure } from "../hooks/failure.js";

/** The text of a §6 error, or of a network failure, for a person. */
export function errorText(err: Failure | null | undefined): string {
  if (!err) return "";
  if (isOpsError(err) && err.status === 0) {
    return "The server could not be reached. Check your connection and retry.";
  }
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

/** The error's §6 code, if it has one. */
export function errorCode(err: unknown): string | null {
  return isOpsError(err) ? err.code : null;
}
