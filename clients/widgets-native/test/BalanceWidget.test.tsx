import { screen, waitFor } from "@testing-library/react-native";
import { useColorScheme } from "react-native";
import { colors } from "@molam/ops-widgets-react/tokens";
import { formatMoney } from "@molam/ops-widgets-react/format";
import { BalanceWidget } from "../src";
import type { SummaryView as Summary } from "@molam/ops-widgets-react/model";
import { clientFor, renderRefused, renderWith } from "./support/live";

afterEach(() => jest.mocked(useColorScheme).mockReturnValue("light"));

test("shows a skeleton, then the service's XOF balance and float", async () => {
  const client = clientFor("alice");
  const summary = (await client.summary()) as unknown as Summary;
  const xof = summary.treasury.find((r) => r.currency === "XOF");
  if (!xof) throw new Error("the demo data has no XOF treasury");

  renderWith(client, <BalanceWidget currency="xof" refreshInterval={5000} />);
  expect(screen.getByRole("progressbar", { name: "Loading…" })).toHaveProp("accessibilityState", { busy: true });

  expect(await screen.findByTestId("balance")).toHaveTextContent(formatMoney(xof.balance, "XOF"));
  expect(screen.getByTestId("float")).toHaveTextContent(formatMoney(xof.float, "XOF"));
  expect(screen.getByRole("header", { name: "Balance XOF" })).toBeOnTheScreen();
  expect(screen.queryByRole("progressbar")).toBeNull();
  // the /ws/kpis/ socket (the `ws` package, the token as its subprotocol) connects
  await waitFor(() => expect(screen.getByTestId("live")).toHaveTextContent(/^Live · updated /));
});

test("a refused connection shows the error with a retry, which loads once the server answers", async () => {
  const down = await renderRefused("alice", <BalanceWidget currency="USD" refreshInterval={60000} />);

  const { alert } = down;
  expect(alert).toHaveTextContent(
    "Could not load this widget. The server could not be reached. Check your connection and retry.",
  );
  expect(alert).toHaveProp("accessibilityLiveRegion", "assertive");

  await down.retryOnceUp(async () => {
    expect(await screen.findByTestId("balance")).toHaveTextContent(/\$/);
    expect(screen.queryByRole("alert")).toBeNull();
    // this forwarder passes no WebSocket upgrade: the summary is polled
    expect(screen.getByTestId("live")).toHaveTextContent(/^Refreshing periodically · updated /);
  });
});

test("a currency no treasury account holds, and one that is not a currency", async () => {
  const client = clientFor("alice");
  const view = renderWith(client, <BalanceWidget currency="JPY" />);
  expect(await screen.findByText("No treasury account holds JPY.")).toHaveProp("accessibilityLiveRegion", "polite");
  view.unmount();

  renderWith(client, <BalanceWidget currency="EURO" />);
  expect(screen.getByRole("alert")).toHaveTextContent(
    "Unknown currency “EURO”: use an ISO 4217 code such as XOF or USD.",
  );
});

test("the dark scheme's colours when the device is dark", async () => {
  jest.mocked(useColorScheme).mockReturnValue("dark");
  renderWith(clientFor("alice"), <BalanceWidget currency="USD" />);
  await screen.findByTestId("balance");
  expect(screen.getByRole("header", { name: "Balance USD" })).toHaveStyle({ color: colors.dark.muted });
  expect(screen.getByTestId("balance")).toHaveStyle({ color: colors.dark.foreground });
});
