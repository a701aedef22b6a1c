// Every widget's error state: a real refused connection (nothing listens on
// the port), the reason and a Retry button, axe-clean; once the server
// answers on that port, Retry loads the widget.

import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { ReactElement } from "react";
import { describe, expect, it } from "vitest";
import {
  Approvals,
  BalanceWidget,
  BankHealth,
  FreezeButton,
  GeneratePlanPanel,
  PayoutSummary,
  QuickActions,
  SiraSuggestions,
} from "../src/index.js";
import { downThenUp, renderWith, violations } from "./helpers.js";

const widgets: [string, ReactElement][] = [
  ["Balance USD", <BalanceWidget currency="USD" refreshInterval={60000} />],
  ["Payouts", <PayoutSummary refreshInterval={60000} />],
  ["Freeze payouts", <FreezeButton scope="global" refreshInterval={60000} />],
  ["Operational plan", <GeneratePlanPanel />],
  ["Bank health", <BankHealth refreshInterval={60000} />],
  ["Suggestions", <SiraSuggestions />],
  ["Quick actions", <QuickActions />],
  ["Approvals", <Approvals />],
];

describe.each(widgets)("%s", (title, widget) => {
  it("shows the refused connection with a retry button; the retry loads it once the server answers", async () => {
    const flaky = await downThenUp("alice");
    try {
      const { container } = renderWith(flaky.client, widget);
      const card = () => screen.getByRole("region", { name: title });
      expect(card().dataset["state"]).toBe("loading");
      await waitFor(() => expect(card().dataset["state"]).toBe("error"), { timeout: 15000 });
      expect(within(card()).getByRole("alert").textContent).toBe(
        "Could not load this widget. The server could not be reached. Check your connection and retry.",
      );
      expect(await violations(container)).toEqual([]);
      await flaky.open();
      fireEvent.click(within(card()).getByRole("button", { name: "Retry" }));
      await waitFor(() => expect(["ready", "empty"]).toContain(card().dataset["state"]), { timeout: 15000 });
    } finally {
      await flaky.close();
    }
  });
});
