import { fireEvent, screen, within } from "@testing-library/react-native";
import { QuickActions } from "../src";
import { clientFor, renderRefused, renderWith } from "./support/live";

test("shows a skeleton, then the actions; retrying failed payouts reports its outcome", async () => {
  const onSuccess = jest.fn();
  renderWith(clientFor("alice"), <QuickActions onSuccess={onSuccess} />);
  expect(screen.getByRole("progressbar", { name: "Loading…" })).toBeOnTheScreen();

  fireEvent.press(await screen.findByRole("button", { name: "Retry failed payouts" }));
  const dialog = screen.getByTestId("dialog");
  expect(within(dialog).getByRole("header", { name: "Retry failed payouts?" })).toBeOnTheScreen();
  expect(within(dialog).getByRole("radio", { name: "All banks" })).toBeChecked();
  fireEvent.press(within(dialog).getByRole("button", { name: "Confirm" }));

  const outcome = await screen.findByTestId("outcome");
  expect(outcome).toHaveTextContent(/^(Retry failed payouts: done( \(\d+\))?\.|Accepted: waiting for signatures or a worker\.)$/);
  expect(onSuccess).toHaveBeenCalledWith(expect.objectContaining({ status: expect.any(Number) }), "retry_failed_payouts");
});

test("forcing a reconciliation needs a reason", async () => {
  renderWith(clientFor("alice"), <QuickActions />);
  fireEvent.press(await screen.findByRole("button", { name: "Force a reconciliation" }));
  const dialog = screen.getByTestId("dialog");
  const confirm = within(dialog).getByRole("button", { name: "Confirm" });
  expect(confirm).toHaveProp("accessibilityHint", "A reason is required.");
  fireEvent.changeText(within(dialog).getByLabelText("Reason"), "statement mismatch");
  fireEvent.press(within(dialog).getByRole("button", { name: "Confirm" }));
  expect(await screen.findByTestId("outcome")).toHaveTextContent(/^(Force a reconciliation: done|Accepted: waiting)/);
});

test("RBAC: the ops role may retry payouts but not regenerate reports or reconcile", async () => {
  renderWith(clientFor("chloe"), <QuickActions />);
  expect(await screen.findByRole("button", { name: "Retry failed payouts" })).toBeEnabled();
  for (const name of ["Regenerate the settlement report", "Force a reconciliation"]) {
    const button = screen.getByRole("button", { name });
    expect(button).toHaveProp("accessibilityState", { disabled: true, busy: false });
    expect(button).toHaveProp("accessibilityHint", "Your roles do not allow this action.");
  }
});

test("a refused connection shows the error; retry loads once the server answers", async () => {
  const down = await renderRefused("alice", <QuickActions />);
  expect(down.alert).toHaveTextContent(/The server could not be reached/);
  await down.retryOnceUp(async () => {
    expect(await screen.findByRole("button", { name: "Retry failed payouts" })).toBeEnabled();
  });
});
