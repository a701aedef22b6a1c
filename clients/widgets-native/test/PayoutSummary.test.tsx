import { screen } from "@testing-library/react-native";
import { formatMoney, formatNumber } from "@molam/ops-widgets-react/format";
import { PayoutSummary } from "../src";
import type { SummaryView as Summary } from "@molam/ops-widgets-react/model";
import { clientFor, renderRefused, renderWith } from "./support/live";

test("shows a skeleton, then the service's payout counts and what settled", async () => {
  const client = clientFor("bruno");
  const summary = (await client.summary()) as unknown as Summary;

  renderWith(client, <PayoutSummary />);
  expect(screen.getByRole("progressbar", { name: "Loading…" })).toBeOnTheScreen();

  expect(await screen.findByTestId("pending")).toHaveTextContent(formatNumber(summary.payouts.pending));
  expect(screen.getByTestId("failed")).toHaveTextContent(formatNumber(summary.payouts.failed));
  expect(screen.getByLabelText(`Sent (24 h): ${formatNumber(summary.payouts.sent_24h)}`)).toBeOnTheScreen();
  const settled = summary.payouts.settled_amount_24h[0];
  if (!settled) throw new Error("the demo data settled nothing in 24 h");
  expect(screen.getByText(formatMoney(settled.amount, settled.currency))).toBeOnTheScreen();
  expect(screen.getByRole("header", { name: "Settled in the last 24 h" })).toBeOnTheScreen();
});

test("a refused connection shows the error; retry loads once the server answers", async () => {
  const down = await renderRefused("bruno", <PayoutSummary refreshInterval={60000} />);
  expect(down.alert).toHaveTextContent(/^Could not load this widget\. The server could not be reached/);

  await down.retryOnceUp(async () => {
    expect(await screen.findByTestId("pending")).toHaveTextContent(/^\d/);
  });
});
