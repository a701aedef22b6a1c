import { fireEvent, screen, waitFor } from "@testing-library/react-native";
import { GeneratePlanPanel, type PlanLike } from "../src";
import { readPlan } from "@molam/ops-widgets-react/model";
import { clientFor, renderRefused, renderWith } from "./support/live";

test("generates a plan with the chosen parameters and calls onPlanGenerated with it", async () => {
  const client = clientFor("alice");
  const onPlanGenerated = jest.fn<void, [PlanLike]>();
  renderWith(client, <GeneratePlanPanel planType="float_rebalance" onPlanGenerated={onPlanGenerated} />);
  expect(screen.getByRole("progressbar", { name: "Loading…" })).toBeOnTheScreen();

  const floatRebalance = await screen.findByRole("radio", { name: "Float rebalance" });
  expect(floatRebalance).toHaveProp("accessibilityState", { checked: true, selected: true });
  fireEvent.press(screen.getByRole("radio", { name: "Routing optimization" }));
  expect(screen.getByRole("radio", { name: "Routing optimization" })).toBeChecked();
  expect(screen.getByRole("radio", { name: "Float rebalance" })).not.toBeChecked();
  fireEvent.press(screen.getByRole("radio", { name: "3 days" }));
  fireEvent.changeText(screen.getByLabelText("Maximum share of one bank (%)"), "60");
  fireEvent.press(screen.getByRole("button", { name: "Generate the plan" }));

  await waitFor(() => expect(onPlanGenerated).toHaveBeenCalledTimes(1), { timeout: 30000 });
  const plan = onPlanGenerated.mock.calls[0]?.[0];
  if (!plan) throw new Error("no plan");
  expect(plan.plan_type).toBe("routing_optimization");
  expect(plan.status).not.toBe("generating");
  // what the panel shows is the plan the service stored
  const stored = await readPlan(client, plan.id);
  expect(stored.status).toBe(plan.status);
  expect((stored as unknown as { params: unknown }).params).toMatchObject({
    type: "routing_optimization",
    timeframe_hours: 72,
    constraints: { max_bank_share: "0.6" },
  });
  expect(await screen.findByTestId("plan-status")).toHaveTextContent(`Routing optimization · Status: ${plan.status}`);
  expect(screen.getByTestId("plan")).toHaveProp("accessibilityLiveRegion", "polite");
});

test("RBAC: finance_ops may not generate plans; the button says why", async () => {
  renderWith(clientFor("bruno"), <GeneratePlanPanel />);
  const button = await screen.findByRole("button", { name: "Generate the plan" });
  expect(button).toBeDisabled();
  expect(button).toHaveProp("accessibilityHint", "Generating plans needs the pay_admin or ops role.");
});

test("ops generates, but is offered no Execute (execute_plan is not theirs)", async () => {
  const onPlanGenerated = jest.fn<void, [PlanLike]>();
  renderWith(clientFor("chloe"), <GeneratePlanPanel planType="risk_mitigation" onPlanGenerated={onPlanGenerated} />);
  fireEvent.press(await screen.findByRole("button", { name: "Generate the plan" }));
  await waitFor(() => expect(onPlanGenerated).toHaveBeenCalledTimes(1), { timeout: 30000 });
  expect(await screen.findByTestId("plan-status")).toHaveTextContent(/^Risk mitigation · Status: /);
  expect(screen.queryByRole("button", { name: "Execute" })).toBeNull();
});

test("a refused connection shows the error; retry loads once the server answers", async () => {
  const down = await renderRefused("alice", <GeneratePlanPanel />);
  expect(down.alert).toHaveTextContent(/The server could not be reached/);
  await down.retryOnceUp(async () => {
    expect(await screen.findByRole("button", { name: "Generate the plan" })).toBeEnabled();
  });
});

test("an unknown plan type", () => {
  renderWith(clientFor("alice"), <GeneratePlanPanel planType={"cash_sweep" as never} />);
  expect(screen.getByRole("alert")).toHaveTextContent(
    "Unknown plan type “cash_sweep”: use routing_optimization, float_rebalance or risk_mitigation.",
  );
});
