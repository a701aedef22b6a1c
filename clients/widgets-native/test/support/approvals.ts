// A global freeze request waiting for signatures, asked by alice through the
// SDK (or the one already waiting), and closing it again.

import { isOpsError } from "@molam/ops-sdk";
import { pendingApprovalId } from "@molam/ops-widgets-react/model";
import { clientFor } from "./live";

export async function globalFreezeRequest(): Promise<string> {
  try {
    const result = await clientFor("alice").freezePayouts({ scope: "global", reason: "widgets-native test" } as never);
    if (result.status !== 202) throw new Error(`a global freeze answered ${result.status}, not 202`);
    return (result.body as unknown as { approval: { id: string } }).approval.id;
  } catch (err) {
    // one is waiting already: that one
    if (isOpsError(err) && err.code === "approval_pending") {
      const id = pendingApprovalId(err.fields);
      if (id) return id;
    }
    throw err;
  }
}

export async function close(id: string): Promise<void> {
  try {
    await clientFor("fatou").approve(id, { decision: "decline", comment: "test over" });
  } catch (err) {
    if (!isOpsError(err)) throw err; // closed already (declined in the test)
  }
}
