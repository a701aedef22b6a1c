import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { GeneratePlanPanel, type Plan } from "../src/index.js";
import { clientAs, renderWith, violations } from "./helpers.js";

const card = () => screen.getByRole("region", { name: "Operational plan" });

describe("GeneratePlanPanel", () => {
  it("generates a plan of the type asked for and hands it to onPlanGenerated", async () => {
    const generated: Plan[] = [];
    const { container } = renderWith(
      clientAs("alice"),
      <GeneratePlanPanel planType="routing_optimization" onPlanGenerated={(p) => generated.push(p)} />,
    );
    expect(card().dataset["state"]).toBe("loading");
    await waitFor(() => expect(card().dataset["state"]).toBe("ready"));
    expect((within(card()).getByLabelText("Plan type") as HTMLSelectElement).value).toBe("routing_optimization");
    expect(await violations(container)).toEqual([]);
    fireEvent.change(within(card()).getByLabelText("Minimum success rate (%)"), { target: { value: "90" } });
    fireEvent.click(within(card()).getByRole("button", { name: "Generate the plan" }));

    await waitFor(() => expect(generated).toHaveLength(1), { timeout: 30000 });
    const plan = generated[0]!;
    expect(plan.plan_type).toBe("routing_optimization");
    expect(plan.status).not.toBe("generating");
    // the plan the service keeps is the one shown
    const stored = (await clientAs("alice").api.GET("/api/ops/plans/{plan_id}", { params: { path: { plan_id: plan.id } } }))
      .data!.plan as Plan;
    expect(stored.params).toMatchObject({ constraints: { min_success_rate: "0.9" } });
    expect(container.querySelector("[data-field=summary]")!.textContent).toBe(stored.summary);
    expect(container.querySelector("[data-field=type]")!.textContent).toBe("Routing optimization");
    expect(container.querySelector("[data-field=payouts]")!.textContent).toBe(String(stored.payout_count));
    expect(await violations(container)).toEqual([]);
  });

  it("is disabled with its reason for bruno (finance_ops)", async () => {
    const { container } = renderWith(clientAs("bruno"), <GeneratePlanPanel />);
    await waitFor(() => expect(card().dataset["state"]).toBe("ready"));
    const button = within(card()).getByRole("button", { name: "Generate the plan" });
    expect(button).toHaveProperty("disabled", true);
    expect(document.getElementById(button.getAttribute("aria-describedby")!)!.textContent).toBe(
      "Generating plans needs the pay_admin or ops role.",
    );
    expect(await violations(container)).toEqual([]);
  });

  it("says which plan type is wrong", () => {
    renderWith(clientAs("alice"), <GeneratePlanPanel planType={"nope" as "float_rebalance"} />);
    expect(screen.getByRole("alert").textContent).toContain("Unknown plan type “nope”");
  });
});
