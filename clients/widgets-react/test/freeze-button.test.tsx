import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { ActionResult } from "@molam/ops-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FreezeButton } from "../src/index.js";
import { clientAs, declinePendingFreezes, renderWith, violations } from "./helpers.js";

const card = () => screen.getByRole("region", { name: "Freeze payouts" });
const ready = () => waitFor(() => expect(card().dataset["state"]).toBe("ready"));

async function firstBank() {
  const summary = (await clientAs("alice").summary()) as { banks: { id: string; name: string; frozen: boolean }[] };
  const bank = summary.banks.find((b) => !b.frozen);
  if (!bank) throw new Error("the demo has no unfrozen bank");
  return bank;
}

describe("FreezeButton", () => {
  beforeAll(declinePendingFreezes);
  afterAll(declinePendingFreezes);

  it("is disabled, with its reason, for a caller whose roles cannot freeze (chloe: ops)", async () => {
    const { container } = renderWith(clientAs("chloe"), <FreezeButton scope="global" />);
    expect(card().dataset["state"]).toBe("loading");
    await ready();
    const button = within(card()).getByRole("button", { name: "Freeze all payouts" });
    expect(button).toHaveProperty("disabled", true);
    const why = document.getElementById(button.getAttribute("aria-describedby")!)!;
    expect(why.textContent).toBe("Your roles (ops) do not allow this: freezing needs pay_admin or finance_ops.");
    expect(await violations(container)).toEqual([]);
  });

  it("freezes a bank's payouts after a confirmation with a reason (200), then unfreezes them", async () => {
    const bank = await firstBank();
    const results: ActionResult<unknown>[] = [];
    const { container } = renderWith(
      clientAs("alice"),
      <FreezeButton scope={{ bank_profile_id: bank.id }} onSuccess={(r) => results.push(r)} />,
    );
    await ready();
    expect(within(card()).getByText("Payouts flowing")).toBeTruthy();
    expect(await violations(container)).toEqual([]);
    fireEvent.click(within(card()).getByRole("button", { name: `Freeze payouts to ${bank.name}` }));

    const dialog = screen.getByRole("dialog", { name: `Freeze payouts to ${bank.name}?` });
    expect(await violations(container)).toEqual([]);
    // no reason: the form says so and sends nothing
    fireEvent.click(within(dialog).getByRole("button", { name: "Freeze" }));
    expect(results).toEqual([]);
    fireEvent.change(within(dialog).getByLabelText("Reason"), { target: { value: "bank incident INC-42" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Freeze" }));

    await waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]!.status).toBe(200);
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(within(card()).getByRole("status").textContent).toBe(`Frozen: payouts to ${bank.name}.`);
    // the live summary catches up: the button now unfreezes
    const unfreeze = await within(card()).findByRole("button", { name: `Unfreeze payouts to ${bank.name}` });
    expect(within(card()).getByText("Frozen")).toBeTruthy();
    fireEvent.click(unfreeze);
    const again = screen.getByRole("dialog", { name: `Unfreeze payouts to ${bank.name}?` });
    fireEvent.click(within(again).getByRole("button", { name: "Unfreeze" }));
    await waitFor(() => expect(results).toHaveLength(2));
    expect(results[1]!.status).toBe(200);
    await within(card()).findByRole("button", { name: `Freeze payouts to ${bank.name}` });
  });

  it("asks for a global freeze: 202, waiting for 2 signatures, and no second request offered", async () => {
    const results: ActionResult<unknown>[] = [];
    const { container } = renderWith(clientAs("alice"), <FreezeButton scope="global" onSuccess={(r) => results.push(r)} />);
    await ready();
    expect(within(card()).getByText("A global freeze takes effect once 2 other people have signed it.")).toBeTruthy();
    fireEvent.click(within(card()).getByRole("button", { name: "Freeze all payouts" }));
    const dialog = screen.getByRole("dialog", { name: "Freeze all payouts?" });
    fireEvent.change(within(dialog).getByLabelText("Reason"), { target: { value: "fraud wave" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Freeze" }));

    await waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]!.status).toBe(202);
    expect(await within(card()).findByText("Waiting for 2 signatures.")).toBeTruthy();
    // the request shows as waiting, and the button will not ask twice
    await waitFor(() => expect(card().querySelector("[data-outcome=waiting]")?.textContent).toMatch(/^Waiting: 0 of 2 signatures · /));
    const button = within(card()).getByRole("button", { name: "Freeze all payouts" });
    expect(button).toHaveProperty("disabled", true);
    expect(document.getElementById(button.getAttribute("aria-describedby")!)!.textContent).toBe(
      "You have asked for this freeze: it takes effect once signed, and no second request is needed.",
    );
    expect(await violations(container)).toEqual([]);
  });
});
