import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { isOpsError, type ActionResult } from "@molam/ops-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Approvals } from "../src/index.js";
import { clientAs, declinePendingFreezes, renderWith, violations } from "./helpers.js";

const card = () => screen.getByRole("region", { name: "Approvals" });

/** A global freeze waiting for signatures (asked by alice), its id. */
async function pendingGlobalFreeze(): Promise<string> {
  try {
    const result = await clientAs("alice").freezePayouts({ scope: "global", reason: "approvals widget test" });
    return String(result.body.approval?.["id"]);
  } catch (err) {
    // one asked for already (the FreezeButton test's): that one
    if (isOpsError(err) && err.code === "approval_pending") return String(([] as unknown[]).concat(err.fields["approval_id"])[0]);
    throw err;
  }
}

describe("Approvals", () => {
  beforeAll(declinePendingFreezes);
  afterAll(declinePendingFreezes);

  it("lists the pending request to bruno, and his signature counts (1 of 2)", async () => {
    const id = await pendingGlobalFreeze();
    const decided: ActionResult<unknown>[] = [];
    const { container } = renderWith(clientAs("bruno"), <Approvals onDecided={(r) => decided.push(r)} />);
    expect(card().dataset["state"]).toBe("loading");
    await waitFor(() => expect(card().dataset["state"]).toBe("ready"));
    const item = container.querySelector<HTMLElement>(`[data-approval="${id}"]`)!;
    expect(item).toBeTruthy();
    expect(item.querySelector("[data-field=signatures]")!.textContent).toBe("0 of 2 signatures");
    expect(await violations(container)).toEqual([]);

    fireEvent.click(within(item).getByRole("button", { name: "Sign" }));
    const dialog = screen.getByRole("dialog", { name: "Sign this request?" });
    expect(within(dialog).getByText("Yours would be signature 1 of 2.")).toBeTruthy();
    expect(await violations(container)).toEqual([]);
    fireEvent.change(within(dialog).getByLabelText("Comment (optional)"), { target: { value: "seen the fraud report" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Sign" }));

    await waitFor(() => expect(decided).toHaveLength(1));
    expect(await within(card()).findByText("Signed: 1 of 2 signatures, by bruno.")).toBeTruthy();
    // the service counts it: the request now reads 1 of 2 for everyone
    const approval = (await clientAs("fatou").api.GET("/api/ops/approvals/{approval_id}", {
      params: { path: { approval_id: id } },
    })).data!.approval;
    expect(approval.current_approvals).toBe(1);
    expect(approval.approvers.map((a) => a.signer_id)).toEqual(["bruno"]);
    // bruno signed: it no longer waits for his signature
    await waitFor(() => expect(container.querySelector(`.molam-item[data-approval="${id}"] button`)).toBeNull());
  });

  it("shows chloe (ops) the requests with signing disabled and why", async () => {
    const id = await pendingGlobalFreeze();
    const { container } = renderWith(clientAs("chloe"), <Approvals />);
    await waitFor(() => expect(card().dataset["state"]).toBe("ready"));
    expect(within(card()).getByRole("heading", { name: "Waiting for signatures" })).toBeTruthy();
    const item = container.querySelector<HTMLElement>(`[data-approval="${id}"]`)!;
    const sign = within(item).getByRole("button", { name: "Sign" });
    expect(sign).toHaveProperty("disabled", true);
    const described = sign.getAttribute("aria-describedby")!.split(" ").map((x) => document.getElementById(x)!.textContent);
    expect(described[1]).toContain("signing needs the pay_admin or finance_ops role (yours: ops)");
    expect(await violations(container)).toEqual([]);
  });
});
