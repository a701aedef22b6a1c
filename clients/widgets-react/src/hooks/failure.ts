// What a hook reports when something fails: the SDK's OpsError (the §6
// envelope, or status 0 for no answer), or, should anything else be thrown,
// that Error as it is rather than a guess at its cause.

import { OpsError } from "@molam/ops-sdk";

export type Failure = OpsError | Error;

export function toFailure(err: unknown): Failure {
  if (err instanceof Error) return err;
  return new Error(String(err));
}

/** True when the failure is the SDK's, so `status`, `code`, `fields` exist. */
export function isOpsError(err: unknown): err is OpsError {
  return err instanceof OpsError;
}
