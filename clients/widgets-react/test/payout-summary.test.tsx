import { screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { PayoutSummary } from "../src/index.js";
import { clientAs, renderWith, violations } from "./helpers.js";

describe("PayoutSummary", () => {
  it("shows the service's payout figures", async () => {
    const client = clientAs("chloe");
    const { container } = renderWith(client, <PayoutSummary refreshInterval={60000} />);
    const card = () => screen.getByRole("region", { name: "Payouts" });
    expect(card().dataset["state"]).toBe("loading");
    await waitFor(() => expect(card().dataset["state"]).toBe("ready"));
    const { payouts } = await client.summary();
    const field = (name: string) => container.querySelector(`[data-field=${name}]`)!.textContent;
    for (const name of ["pending", "processing", "sent_24h", "failed"] as const) {
      expect(field(name)).toBe(new Intl.NumberFormat("en").format(payouts[name]));
    }
    expect(await violations(container)).toEqual([]);
  });
});
