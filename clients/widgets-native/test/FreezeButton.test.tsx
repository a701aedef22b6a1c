import { fireEvent, screen, waitFor } from "@testing-library/react-native";
import { useColorScheme } from "react-native";
import type { ActionResult } from "@molam/ops-sdk";
import { colors } from "@molam/ops-widgets-react/tokens";
import { FreezeButton } from "../src";
import type { SummaryView as Summary } from "@molam/ops-widgets-react/model";
import { close, globalFreezeRequest } from "./support/approvals";
import { clientFor, renderRefused, renderWith } from "./support/live";

// a global request left waiting would disable every later global freeze:
// each one asked for here is declined (closed) after its test
const asked: string[] = [];
afterEach(async () => {
  for (const id of asked.splice(0)) await close(id);
});

async function aBank(code: string) {
  const summary = (await clientFor("alice").summary()) as unknown as Summary;
  const bank = summary.banks.find((b) => (b as { code?: string }).code === code);
  if (!bank) throw new Error(`no bank ${code} in the demo data`);
  return bank;
}

test("a bank freeze runs at once (200), after a confirmation with a reason; then it unfreezes", async () => {
  const bank = await aBank("cbao-sn");
  const client = clientFor("alice");
  const onSuccess = jest.fn<void, [ActionResult<unknown>]>();
  renderWith(client, <FreezeButton scope={{ bank_profile_id: bank.id }} onSuccess={onSuccess} />);
  expect(screen.getByRole("progressbar", { name: "Loading…" })).toBeOnTheScreen();

  fireEvent.press(await screen.findByRole("button", { name: "Freeze payouts to CBAO Attijariwafa" }));
  expect(screen.getByRole("header", { name: "Freeze payouts to CBAO Attijariwafa?" })).toBeOnTheScreen();
  const confirm = screen.getByRole("button", { name: "Freeze" });
  expect(confirm).toBeDisabled(); // no reason yet
  fireEvent.changeText(screen.getByLabelText("Reason"), "  suspected fraud on the connector ");
  fireEvent.press(screen.getByRole("button", { name: "Freeze" }));

  const outcome = await screen.findByTestId("outcome");
  expect(outcome).toHaveTextContent("Frozen: payouts to CBAO Attijariwafa.");
  expect(outcome).toHaveProp("accessibilityLiveRegion", "polite");
  expect(onSuccess).toHaveBeenCalledTimes(1);
  expect(onSuccess.mock.calls[0]?.[0].status).toBe(200);
  const after = (await client.summary()) as unknown as Summary;
  expect(after.banks.find((b) => b.id === bank.id)).toMatchObject({ frozen: true, freeze_scope: "bank" });

  fireEvent.press(await screen.findByRole("button", { name: "Unfreeze payouts to CBAO Attijariwafa" }));
  fireEvent.changeText(screen.getByLabelText("Reason"), "connector checked");
  fireEvent.press(screen.getByRole("button", { name: "Unfreeze" }));
  expect(await screen.findByText("Unfrozen: payouts to CBAO Attijariwafa.")).toBeOnTheScreen();
  expect(onSuccess.mock.calls[1]?.[0].status).toBe(200);
});

test("a global freeze answers 202: waiting for 2 signatures, and no second request meanwhile", async () => {
  const onSuccess = jest.fn<void, [ActionResult<unknown>]>();
  renderWith(clientFor("alice"), <FreezeButton scope="global" onSuccess={onSuccess} />);

  const button = await screen.findByRole("button", { name: "Freeze all payouts" });
  expect(screen.getByText("A global freeze takes effect once 2 other people have signed it.")).toBeOnTheScreen();
  fireEvent.press(button);
  fireEvent.changeText(screen.getByLabelText("Reason"), "incident 42");
  fireEvent.press(screen.getByRole("button", { name: "Freeze" }));

  expect(await screen.findByTestId("outcome")).toHaveTextContent("Waiting: 0 of 2 signatures");
  expect(onSuccess).toHaveBeenCalledTimes(1);
  const result = onSuccess.mock.calls[0]?.[0];
  expect(result?.status).toBe(202);
  const approval = (result?.body as { approval: { id: string; required_approvals: number } }).approval;
  asked.push(approval.id);
  expect(approval.required_approvals).toBe(2);

  await waitFor(() => expect(screen.getByRole("button", { name: "Freeze all payouts" })).toBeDisabled());
  expect(screen.getByRole("button", { name: "Freeze all payouts" })).toHaveProp(
    "accessibilityHint",
    "You have asked for this freeze: it takes effect once signed, and no second request is needed.",
  );
  // payouts still flow: nothing is frozen before the signatures
  expect(screen.getByText("Payouts flowing")).toBeOnTheScreen();
});

test("asked for meanwhile by someone else: the 409 shows that request instead of a second one", async () => {
  // no socket, a summary polled every 30 s: the widget has not seen alice's request
  renderWith(clientFor("amadou", undefined, { live: false }), <FreezeButton scope="global" />);
  const button = await screen.findByRole("button", { name: "Freeze all payouts" });
  expect(button).toBeEnabled();
  asked.push(await globalFreezeRequest());

  fireEvent.press(button);
  fireEvent.changeText(screen.getByLabelText("Reason"), "incident 43");
  fireEvent.press(screen.getByRole("button", { name: "Freeze" }));

  expect(await screen.findByTestId("outcome")).toHaveTextContent(
    "This freeze had already been asked for: it is the request shown above.",
  );
  expect(screen.queryByTestId("dialog")).toBeNull();
  await waitFor(() =>
    expect(screen.getByRole("button", { name: "Freeze all payouts" })).toHaveProp(
      "accessibilityHint",
      "alice has asked for this freeze: it takes effect once signed, and no second request is needed.",
    ),
  );
  expect(screen.getByText(/^Waiting: 0 of 2 signatures · .+ left$/)).toHaveProp("accessibilityLiveRegion", "polite");
});

test("RBAC: the ops role sees the button disabled, with the reason", async () => {
  renderWith(clientFor("chloe"), <FreezeButton scope="global" />);
  const button = await screen.findByRole("button", { name: "Freeze all payouts" });
  const reason = "Your roles (ops) do not allow this: freezing needs pay_admin or finance_ops.";
  expect(button).toHaveProp("accessibilityState", { disabled: true, busy: false });
  expect(button).toHaveProp("accessibilityHint", reason);
  expect(screen.getByText(reason)).toBeOnTheScreen();
  fireEvent.press(button);
  expect(screen.queryByRole("header", { name: "Freeze all payouts?" })).toBeNull();
});

test("a refused connection shows the error; retry loads once the server answers", async () => {
  const down = await renderRefused("alice", <FreezeButton />);
  expect(down.alert).toHaveTextContent(/The server could not be reached/);
  await down.retryOnceUp(async () => {
    expect(await screen.findByRole("button", { name: "Freeze all payouts" })).toBeEnabled();
  });
});

test("a scope that is neither global nor a bank id", () => {
  renderWith(clientFor("alice"), <FreezeButton scope={{ bank_profile_id: "bicis" }} />);
  expect(screen.getByRole("alert")).toHaveTextContent("Unknown scope “bicis”: use “global” or the id of a bank.");
});

test("dark scheme: the confirmation dialog and its field take the dark palette", async () => {
  jest.mocked(useColorScheme).mockReturnValue("dark");
  try {
    renderWith(clientFor("alice"), <FreezeButton scope="global" />);
    fireEvent.press(await screen.findByRole("button", { name: "Freeze all payouts" }));
    expect(screen.getByTestId("dialog")).toHaveStyle({ backgroundColor: colors.dark.card, borderColor: colors.dark.border });
    expect(screen.getByLabelText("Reason")).toHaveStyle({ color: colors.dark.foreground, backgroundColor: colors.dark.card });
    fireEvent.press(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByTestId("dialog")).toBeNull();
  } finally {
    jest.mocked(useColorScheme).mockReturnValue("light");
  }
});
