// The treasury balance and float in one currency, live.

import { formatDateTime, formatMoney, formatNumber, isCurrency } from "../format.js";
import { useSummary } from "../hooks/useSummary.js";
import { useLocale } from "../hooks/provider.js";
import { Card, ErrorState, Invalid, LiveLine, Message, Skeleton } from "../ui/parts.js";

export interface BalanceWidgetProps {
  /** ISO 4217 code (default "USD"). */
  currency?: string;
  /** Poll every this many ms while the live socket is down (default 30000). */
  refreshInterval?: number;
}

export function BalanceWidget({ currency: given = "USD", refreshInterval }: BalanceWidgetProps) {
  const currency = given.trim().toUpperCase();
  const locale = useLocale();
  const kpis = useSummary(refreshInterval === undefined ? {} : { refreshInterval });
  const title = `Balance ${currency}`;
  if (!isCurrency(currency)) {
    return (
      <Invalid
        title="Balance"
        text={`Unknown currency “${given}”: use an ISO 4217 code such as XOF or USD.`}
      />
    );
  }
  if (kpis.status === "loading") return <Skeleton title={title} />;
  if (!kpis.summary) return <ErrorState title={title} error={kpis.error} onRetry={() => void kpis.reload()} />;
  const summary = kpis.summary;
  const row = summary.treasury.find((r) => r.currency === currency);
  if (!row) {
    return (
      <Card title={title} state="empty">
        <Message tone="info">No treasury account holds {currency}.</Message>
      </Card>
    );
  }
  const money = (amount: string) => formatMoney(amount, row.currency, { locale });
  return (
    <Card title={title} state="ready">
      <p className="molam-figure" data-field="balance">
        {money(row.balance)}
      </p>
      <dl>
        <dt>Minimum float</dt>
        <dd data-field="float">{money(row.float)}</dd>
        <dt>Above the float</dt>
        <dd data-field="headroom">{money(row.headroom)}</dd>
        <dt>Accounts</dt>
        <dd>{formatNumber(row.accounts, { locale })}</dd>
      </dl>
      {row.accounts_below_float ? (
        <Message tone="wait">
          {formatNumber(row.accounts_below_float, { locale })} account(s) below their minimum float.
        </Message>
      ) : null}
      <LiveLine live={kpis.live} updated={formatDateTime(summary.computed_at, { locale })} />
    </Card>
  );
}
