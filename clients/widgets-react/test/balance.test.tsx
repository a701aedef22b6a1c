import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { BalanceWidget } from "../src/index.js";
import { clientAs, downThenUp, renderWith, violations } from "./helpers.js";

const region = (name: RegExp) => screen.getByRole("region", { name });

describe("BalanceWidget", () => {
  it("shows a skeleton, then the treasury balance of its currency from the service", async () => {
    const client = clientAs("alice");
    const summary = (await client.summary()) as { treasury: { currency: string; balance: string }[] };
    const row = summary.treasury.find((r) => r.currency === "XOF");
    expect(row).toBeDefined();

    const { container } = renderWith(client, <BalanceWidget currency="XOF" refreshInterval={60000} />);
    expect(region(/Balance XOF/).dataset["state"]).toBe("loading");
    await waitFor(() => expect(region(/Balance XOF/).dataset["state"]).toBe("ready"));
    const balance = container.querySelector("[data-field=balance]")!;
    // XOF shows its ISO code (its symbol is XAF's too) and no minor unit
    expect(balance.textContent).toMatch(/^XOF\s/);
    expect(balance.textContent!.replace(/\D/g, "")).toBe(String(Math.round(Number(row!.balance))));
    expect(await violations(container)).toEqual([]);
  });

  it("says which currency is wrong rather than loading", async () => {
    renderWith(clientAs("alice"), <BalanceWidget currency="EURO" />);
    expect(screen.getByRole("alert").textContent).toContain("Unknown currency “EURO”");
  });

  it("shows the refused connection with a retry button; the retry loads once the server answers", async () => {
    const flaky = await downThenUp();
    try {
      const { container } = renderWith(flaky.client, <BalanceWidget currency="USD" refreshInterval={60000} />);
      await waitFor(() => expect(region(/Balance USD/).dataset["state"]).toBe("error"), { timeout: 15000 });
      expect(screen.getByRole("alert").textContent).toContain("The server could not be reached");
      expect(await violations(container)).toEqual([]);
      await flaky.open();
      fireEvent.click(within(region(/Balance USD/)).getByRole("button", { name: "Retry" }));
      await waitFor(() => expect(region(/Balance USD/).dataset["state"]).toBe("ready"));
      expect(container.querySelector("[data-field=balance]")!.textContent).toMatch(/\$/);
    } finally {
      await flaky.close();
    }
  });
});
