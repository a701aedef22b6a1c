import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { ActionResult } from "@molam/ops-sdk";
import { describe, expect, it } from "vitest";
import { QuickActions } from "../src/index.js";
import { clientAs, renderWith, violations } from "./helpers.js";

const card = () => screen.getByRole("region", { name: "Quick actions" });

describe("QuickActions", () => {
  it("runs a batch retry of failed payouts after a confirmation and says how many", async () => {
    const results: ActionResult<unknown>[] = [];
    const { container } = renderWith(clientAs("alice"), <QuickActions onSuccess={(r) => results.push(r)} />);
    expect(card().dataset["state"]).toBe("loading");
    await waitFor(() => expect(card().dataset["state"]).toBe("ready"));
    expect(await violations(container)).toEqual([]);
    fireEvent.click(within(card()).getByRole("button", { name: "Retry failed payouts" }));
    const dialog = screen.getByRole("dialog", { name: "Retry failed payouts?" });
    expect(await violations(container)).toEqual([]);
    fireEvent.click(within(dialog).getByRole("button", { name: "Confirm" }));
    await waitFor(() => expect(results).toHaveLength(1), { timeout: 15000 });
    const outcome = within(card()).getByRole("status").textContent;
    // the service runs a batch in its worker (202) or at once (200)
    if (results[0]!.status === 202) expect(outcome).toBe("Accepted: waiting for signatures or a worker.");
    else expect(outcome).toMatch(/^Retry failed payouts: done( \(\d[\d,]*\))?\.$/);
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("disables, with why, what chloe's role (ops) cannot run", async () => {
    const { container } = renderWith(clientAs("chloe"), <QuickActions />);
    await waitFor(() => expect(card().dataset["state"]).toBe("ready"));
    const report = within(card()).getByRole("button", { name: "Regenerate the settlement report" });
    expect(report).toHaveProperty("disabled", true);
    expect(document.getElementById(report.getAttribute("aria-describedby")!)!.textContent).toBe(
      "Your roles do not allow this action.",
    );
    // ops may retry failed payouts
    expect(within(card()).getByRole("button", { name: "Retry failed payouts" })).toHaveProperty("disabled", false);
    expect(await violations(container)).toEqual([]);
  });
});
