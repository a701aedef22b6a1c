// The treasury balance and float in one currency, live (the dashboard's
// <molam-balance>).

import { formatMoney, formatNumber, isCurrency } from "@molam/ops-widgets-react/format";
import { useLocale, useSummary } from "@molam/ops-widgets-react/hooks";
import { interpolate } from "@molam/ops-widgets-react/model";
import { Text } from "react-native";
import { useTheme } from "../theme";
import { Card, Pair } from "../ui/Card";
import { LiveLine } from "../ui/LiveLine";
import { Message } from "../ui/Message";
import { ErrorState, Invalid, Skeleton } from "../ui/States";

export interface BalanceWidgetProps {
  /** ISO 4217 code, e.g. "XOF" (default "USD"). */
  currency?: string;
  /** Poll interval in ms while the live socket is down (default 30000). */
  refreshInterval?: number;
}

export function BalanceWidget({ currency = "USD", refreshInterval = 30000 }: BalanceWidgetProps) {
  const { styles } = useTheme();
  const locale = useLocale();
  const code = currency.trim().toUpperCase();
  const kpis = useSummary({ refreshInterval });
  const title = interpolate("Balance %(currency)s", { currency: code });

  if (!isCurrency(code)) {
    return (
      <Invalid
        title="Balance"
        text={interpolate("Unknown currency “%(currency)s”: use an ISO 4217 code such as XOF or USD.", { currency })}
      />
    );
  }
  if (kpis.status === "loading") return <Skeleton title={title} />;
  if (!kpis.summary) return <ErrorState title={title} error={kpis.error} onRetry={() => void kpis.reload()} />;

  const row = kpis.summary.treasury.find((r) => r.currency === code);
  if (!row) {
    return (
      <Card title={title}>
        <Message kind="info" text={interpolate("No treasury account holds %(currency)s.", { currency: code })} />
      </Card>
    );
  }
  const money = (amount: string) => formatMoney(amount, row.currency, { locale });
  return (
    <Card title={title}>
      <Text style={styles.figure} testID="balance" accessibilityLabel={`${title}: ${money(row.balance)}`}>
        {money(row.balance)}
      </Text>
      <Pair label="Minimum float" value={money(row.float)} testID="float" />
      <Pair label="Above the float" value={money(row.headroom)} />
      <Pair label="Accounts" value={formatNumber(row.accounts, { locale })} />
      {row.accounts_below_float ? (
        <Message
          kind="wait"
          text={interpolate("%(count)s account(s) below their minimum float.", {
            count: formatNumber(row.accounts_below_float, { locale }),
          })}
        />
      ) : null}
      <LiveLine live={kpis.live} computedAt={kpis.summary.computed_at} />
    </Card>
  );
}
