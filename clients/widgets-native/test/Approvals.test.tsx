import { fireEvent, screen, waitFor, within } from "@testing-library/react-native";
import { Approvals } from "../src";
import type { ApprovalLike } from "@molam/ops-widgets-react/model";
import { clientFor, renderRefused, renderWith } from "./support/live";
import { close, globalFreezeRequest } from "./support/approvals";

let requestId = "";
beforeEach(async () => {
  requestId = await globalFreezeRequest();
});
afterEach(async () => {
  await close(requestId);
});

test("bruno signs alice's global freeze: his signature counts (1 of 2)", async () => {
  const onSuccess = jest.fn();
  renderWith(clientFor("bruno"), <Approvals onSuccess={onSuccess} />);
  expect(screen.getByRole("progressbar", { name: "Loading…" })).toBeOnTheScreen();

  const item = await screen.findByTestId(`to-sign-${requestId}`);
  expect(within(item).getByText(/^0 of 2 signatures · (\d+ h \d{2} min|\d{2} min \d{2} s) left$/)).toBeOnTheScreen();
  fireEvent.press(within(item).getByRole("button", { name: "Sign" }));
  expect(screen.getByRole("header", { name: "Sign this request?" })).toBeOnTheScreen();
  expect(screen.getByText("Yours would be signature 1 of 2.")).toBeOnTheScreen();
  fireEvent.changeText(screen.getByLabelText("Comment (optional)"), "seen the incident");
  fireEvent.press(within(screen.getByTestId("dialog")).getByRole("button", { name: "Sign" }));

  const notice = await screen.findByTestId("notice");
  expect(notice).toHaveTextContent("Signed: 1 of 2 signatures, by bruno.");
  expect(notice).toHaveProp("accessibilityLiveRegion", "polite");
  expect(onSuccess).toHaveBeenCalledWith(expect.objectContaining({ status: 200 }));

  const pending = (await clientFor("alice").pendingApprovals()) as ApprovalLike[];
  const request = pending.find((a) => a.id === requestId);
  expect(request?.approvers?.map((s) => [s.signer_id, s.decision])).toEqual([["bruno", "approve"]]);
  // signed: no longer in bruno's list of requests to sign
  await waitFor(() => expect(screen.queryByTestId(`to-sign-${requestId}`)).toBeNull());
});

test("fatou declines it: a reason is required, then the request is closed", async () => {
  renderWith(clientFor("fatou"), <Approvals />);
  const item = await screen.findByTestId(`to-sign-${requestId}`);
  fireEvent.press(within(item).getByRole("button", { name: "Decline" }));
  const dialog = screen.getByTestId("dialog");
  expect(within(dialog).getByRole("button", { name: "Decline" })).toBeDisabled();
  fireEvent.changeText(within(dialog).getByLabelText("Why do you decline? (required)"), "not needed any more");
  fireEvent.press(within(dialog).getByRole("button", { name: "Decline" }));
  expect(await screen.findByTestId("notice")).toHaveTextContent("Declined: the request is closed.");
});

test("alice sees her own request, waiting, under Your requests", async () => {
  renderWith(clientFor("alice"), <Approvals />);
  expect(await screen.findByRole("header", { name: "Your requests" })).toBeOnTheScreen();
  expect(screen.queryByTestId(`to-sign-${requestId}`)).toBeNull(); // nobody signs their own
  expect(screen.getAllByText("pending").length).toBeGreaterThan(0);
});

test("RBAC: the ops role follows the requests but cannot sign them", async () => {
  renderWith(clientFor("chloe"), <Approvals />);
  const why =
    "You can follow these requests but not sign them: signing needs the pay_admin or finance_ops role (yours: ops).";
  expect(await screen.findByText(why)).toBeOnTheScreen();
  expect(screen.getByRole("header", { name: "Waiting for signatures" })).toBeOnTheScreen();
  const item = await screen.findByTestId(`to-sign-${requestId}`);
  const sign = within(item).getByRole("button", { name: "Sign" });
  expect(sign).toHaveProp("accessibilityState", { disabled: true, busy: false });
  expect(sign).toHaveProp("accessibilityHint", why);
  expect(within(item).getByRole("button", { name: "Decline" })).toBeDisabled();
});

test("a refused connection shows the error; retry loads once the server answers", async () => {
  const down = await renderRefused("bruno", <Approvals />);
  expect(down.alert).toHaveTextContent(/The server could not be reached/);
  await down.retryOnceUp(async () => {
    expect(await screen.findByTestId(`to-sign-${requestId}`)).toBeOnTheScreen();
  });
});
