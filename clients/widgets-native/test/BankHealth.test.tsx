import { fireEvent, screen, waitFor, within } from "@testing-library/react-native";
import { BankHealth } from "../src";
import type { SummaryView as Summary } from "@molam/ops-widgets-react/model";
import { clientFor, renderRefused, renderWith } from "./support/live";

test("shows a skeleton, then a tile per bank with its health and circuit", async () => {
  const client = clientFor("alice");
  const summary = (await client.summary()) as unknown as Summary;
  renderWith(client, <BankHealth />);
  expect(screen.getByRole("progressbar", { name: "Loading…" })).toBeOnTheScreen();

  const bicis = await screen.findByRole("button", { name: /^BICIS, Failing, circuit half-open/ });
  expect(bicis).toHaveProp("accessibilityHint", "Opens the bank's details and actions");
  expect(screen.getAllByRole("button", { name: /, circuit / })).toHaveLength(summary.banks.length);
});

test("pause a bank from its details, with a reason, then resume it", async () => {
  const client = clientFor("alice");
  const onSuccess = jest.fn();
  renderWith(client, <BankHealth onSuccess={onSuccess} />);
  fireEvent.press(await screen.findByRole("button", { name: /^Equity Bank Kenya, / }));
  expect(screen.getByRole("header", { name: "Equity Bank Kenya" })).toBeOnTheScreen();
  expect(screen.getByTestId("connector")).toHaveTextContent("Running");

  fireEvent.press(screen.getByRole("button", { name: "Pause the bank" }));
  const dialog = screen.getByTestId("dialog");
  expect(within(dialog).getByRole("header", { name: "Pause Equity Bank Kenya?" })).toBeOnTheScreen();
  fireEvent.changeText(within(dialog).getByLabelText("Reason"), "maintenance window");
  fireEvent.press(within(dialog).getByRole("button", { name: "Pause" }));

  expect(await screen.findByText("Bank paused.")).toBeOnTheScreen();
  expect(onSuccess).toHaveBeenCalledWith(expect.objectContaining({ status: 200 }));
  // the summary read again after the action: the details and the tile say so
  await waitFor(() => expect(screen.getByTestId("connector")).toHaveTextContent("Paused"));
  expect(screen.getByRole("button", { name: /^Equity Bank Kenya, .*, Paused/ })).toBeOnTheScreen();
  const paused = (await client.summary()) as unknown as Summary;
  expect(paused.banks.find((b) => b.name === "Equity Bank Kenya")?.paused).toBe(true);

  fireEvent.press(await screen.findByRole("button", { name: "Resume the bank" }));
  fireEvent.press(within(screen.getByTestId("dialog")).getByRole("button", { name: "Resume" }));
  expect(await screen.findByText("Bank resumed.")).toBeOnTheScreen();
  const resumed = (await client.summary()) as unknown as Summary;
  expect(resumed.banks.find((b) => b.name === "Equity Bank Kenya")?.paused).toBe(false);

  fireEvent.press(screen.getByRole("button", { name: "Close" }));
  expect(screen.queryByRole("header", { name: "Equity Bank Kenya" })).toBeNull();
});

test("RBAC: the ops role sees pause and freeze disabled, with the reasons", async () => {
  renderWith(clientFor("chloe"), <BankHealth />);
  fireEvent.press(await screen.findByRole("button", { name: /^BICIS, / }));
  const pause = screen.getByRole("button", { name: "Pause the bank" });
  expect(pause).toHaveProp("accessibilityState", { disabled: true, busy: false });
  expect(pause).toHaveProp("accessibilityHint", "Pausing or resuming a bank needs the pay_admin role.");
  const freeze = await screen.findByRole("button", { name: "Freeze payouts to BICIS" });
  expect(freeze).toBeDisabled();
});

test("a refused connection shows the error; retry loads once the server answers", async () => {
  const down = await renderRefused("alice", <BankHealth refreshInterval={60000} />);
  expect(down.alert).toHaveTextContent(/The server could not be reached/);
  await down.retryOnceUp(async () => {
    expect(await screen.findByRole("button", { name: /^BICIS, / })).toBeOnTheScreen();
  });
});
