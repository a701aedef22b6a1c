import { fireEvent, screen, waitFor, within } from "@testing-library/react-native";
import { SiraSuggestions } from "../src";
import { clientFor, renderRefused, renderWith } from "./support/live";

interface Suggestion {
  id: string;
  title: string;
  action: { action_type: string };
}

test("shows a skeleton, then the open suggestions with what each proposes", async () => {
  const client = clientFor("alice");
  const open = (await client.suggestions()) as unknown as Suggestion[];
  expect(open.length).toBeGreaterThan(0);
  renderWith(client, <SiraSuggestions />);
  expect(screen.getByRole("progressbar", { name: "Loading…" })).toBeOnTheScreen();

  expect(await screen.findByTestId("count")).toHaveTextContent(`SIRA suggestions: ${open.length} open`);
  for (const s of open) expect(screen.getByRole("header", { name: s.title })).toBeOnTheScreen();
  const pause = open.find((s) => s.action.action_type === "pause_bank");
  if (pause) expect(screen.getByText("Proposes: Pause the bank — BICIS")).toBeOnTheScreen();
  expect(screen.getAllByText(/^Confidence \d+(\.\d)?%$/)).toHaveLength(open.length);
});

test("declining needs a reason; the declined suggestion leaves the list and the service", async () => {
  const client = clientFor("alice");
  const open = (await client.suggestions()) as unknown as Suggestion[];
  // not the plan suggestion: the next test accepts that one
  const target = open.find((s) => s.action.action_type !== "generate_plan");
  if (!target) throw new Error("no open suggestion but the plan one in the demo data");
  const onSuccess = jest.fn();
  renderWith(client, <SiraSuggestions onSuccess={onSuccess} />);
  await screen.findByRole("header", { name: target.title });

  fireEvent.press(within(screen.getByTestId(`suggestion-${target.id}`)).getByRole("button", { name: "Decline" }));
  const dialog = screen.getByTestId("dialog");
  expect(within(dialog).getByRole("header", { name: "Decline this suggestion?" })).toBeOnTheScreen();
  expect(within(dialog).getByRole("button", { name: "Decline" })).toBeDisabled();
  fireEvent.changeText(within(dialog).getByLabelText("Why decline it? (required)"), "not now");
  fireEvent.press(within(dialog).getByRole("button", { name: "Decline" }));

  await waitFor(() => expect(screen.queryByRole("header", { name: target.title })).toBeNull());
  expect(onSuccess).toHaveBeenCalledWith(expect.objectContaining({ status: 200 }), "decline");
  const after = (await client.suggestions()) as unknown as Suggestion[];
  expect(after.map((s) => s.id)).not.toContain(target.id);
});

test("accepting names the action and its target before it runs", async () => {
  const client = clientFor("alice");
  const open = (await client.suggestions()) as unknown as Suggestion[];
  const plan = open.find((s) => s.action.action_type === "generate_plan");
  if (!plan) throw new Error("no plan suggestion in the demo data");
  const onSuccess = jest.fn();
  renderWith(client, <SiraSuggestions onSuccess={onSuccess} />);
  const item = await screen.findByTestId(`suggestion-${plan.id}`);
  fireEvent.press(within(item).getByRole("button", { name: "Accept" }));
  const dialog = screen.getByTestId("dialog");
  expect(within(dialog).getByText(/^This runs “Generate a plan” on /)).toBeOnTheScreen();
  expect(within(dialog).getByLabelText(/^Action: Generate a plan$/)).toBeOnTheScreen();
  fireEvent.press(within(dialog).getByRole("button", { name: "Accept" }));
  await waitFor(() => expect(screen.queryByRole("header", { name: plan.title })).toBeNull());
  expect(onSuccess).toHaveBeenCalledWith(expect.objectContaining({ status: expect.any(Number) }), "accept");
  const after = (await client.suggestions()) as unknown as Suggestion[];
  expect(after.map((s) => s.id)).not.toContain(plan.id);
});

test("a refused connection shows the error; retry loads once the server answers", async () => {
  const down = await renderRefused("chloe", <SiraSuggestions />);
  expect(down.alert).toHaveTextContent(/The server could not be reached/);
  await down.retryOnceUp(async () => {
    expect(await screen.findByTestId("count")).toHaveTextContent(/^SIRA suggestions: \d+ open$/);
  });
});
