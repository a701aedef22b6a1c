import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { BankHealth } from "../src/index.js";
import { clientAs, renderWith, violations } from "./helpers.js";

const card = () => screen.getByRole("region", { name: "Bank health" });
type Bank = { id: string; name: string; paused: boolean; status: string };

async function banks(): Promise<Bank[]> {
  return ((await clientAs("alice").summary()) as { banks: Bank[] }).banks;
}

describe("BankHealth", () => {
  it("shows every bank of the service as a tile; alice pauses one and resumes it", async () => {
    const all = await banks();
    const bank = all.find((b) => !b.paused)!;
    const { container } = renderWith(clientAs("alice"), <BankHealth />);
    expect(card().dataset["state"]).toBe("loading");
    await waitFor(() => expect(card().dataset["state"]).toBe("ready"));
    expect(Array.from(container.querySelectorAll("[data-bank]"), (t) => t.getAttribute("data-bank"))).toEqual(
      all.map((b) => b.id),
    );
    expect(await violations(container)).toEqual([]);

    fireEvent.click(container.querySelector(`[data-bank="${bank.id}"]`)!);
    const detail = screen.getByRole("dialog", { name: bank.name });
    expect(within(detail).getByText("Running")).toBeTruthy();
    expect(await violations(container)).toEqual([]);
    fireEvent.click(within(detail).getByRole("button", { name: "Pause the bank" }));
    const confirm = screen.getByRole("dialog", { name: `Pause ${bank.name}?` });
    fireEvent.change(within(confirm).getByLabelText("Reason"), { target: { value: "maintenance window" } });
    fireEvent.click(within(confirm).getByRole("button", { name: "Pause" }));
    expect(await within(detail).findByText("Bank paused.", {}, { timeout: 15000 })).toBeTruthy();
    await waitFor(() => expect(within(detail).getByText("Paused", { selector: "dd" })).toBeTruthy());
    expect((await banks()).find((b) => b.id === bank.id)!.paused).toBe(true);

    fireEvent.click(within(detail).getByRole("button", { name: "Resume the bank" }));
    const resume = screen.getByRole("dialog", { name: `Resume ${bank.name}?` });
    fireEvent.click(within(resume).getByRole("button", { name: "Resume" }));
    expect(await within(detail).findByText("Bank resumed.", {}, { timeout: 15000 })).toBeTruthy();
    expect((await banks()).find((b) => b.id === bank.id)!.paused).toBe(false);
  });

  it("disables pausing for chloe (ops), with why", async () => {
    const bank = (await banks())[0]!;
    const { container } = renderWith(clientAs("chloe"), <BankHealth />);
    await waitFor(() => expect(card().dataset["state"]).toBe("ready"));
    fireEvent.click(container.querySelector(`[data-bank="${bank.id}"]`)!);
    const detail = screen.getByRole("dialog", { name: bank.name });
    const pause = within(detail).getByRole("button", { name: /the bank$/ });
    expect(pause).toHaveProperty("disabled", true);
    expect(document.getElementById(pause.getAttribute("aria-describedby")!)!.textContent).toBe(
      "Pausing or resuming a bank needs the pay_admin role.",
    );
    expect(await violations(container)).toEqual([]);
  });
});
