import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { SiraSuggestions } from "../src/index.js";
import { clientAs, renderWith, violations } from "./helpers.js";

const card = () => screen.getByRole("region", { name: "Suggestions" });

async function openSuggestions() {
  const out = [];
  for await (const s of clientAs("alice").list("/api/ops/suggestions", { status: ["open"] })) out.push(s);
  return out;
}

describe("SiraSuggestions", () => {
  it("shows the open count, expands into the service's open suggestions, and declines one with a reason", async () => {
    const open = await openSuggestions();
    expect(open.length).toBeGreaterThan(0); // the demo's bank health makes some
    const { container } = renderWith(clientAs("fatou"), <SiraSuggestions />);
    expect(card().dataset["state"]).toBe("loading");
    await waitFor(() => expect(card().dataset["state"]).toBe("ready"));
    const toggle = within(card()).getByRole("button", { name: `SIRA suggestions: ${open.length} open` });
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    fireEvent.click(toggle);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    await waitFor(() => expect(container.querySelectorAll("li[data-id]")).toHaveLength(open.length));
    expect(Array.from(container.querySelectorAll("li[data-id] h3"), (h) => h.textContent)).toEqual(open.map((s) => s.title));
    expect(await violations(container)).toEqual([]);

    const first = open[0]!;
    const item = container.querySelector<HTMLElement>(`li[data-id="${first.id}"]`)!;
    fireEvent.click(within(item).getByRole("button", { name: "Decline" }));
    const dialog = screen.getByRole("dialog", { name: "Decline this suggestion?" });
    fireEvent.change(within(dialog).getByLabelText("Why decline it? (required)"), { target: { value: "handled by hand" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Decline" }));
    expect(await within(card()).findByText("Suggestion declined.", {}, { timeout: 10000 })).toBeTruthy();
    await waitFor(() => expect(container.querySelector(`li[data-id="${first.id}"]`)).toBeNull());
    expect((await openSuggestions()).map((s) => s.id)).not.toContain(first.id);
  });
});
