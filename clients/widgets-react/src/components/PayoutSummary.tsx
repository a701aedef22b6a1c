// Pending, processing, sent in 24 h and failed payouts, the active freezes
// and pending approvals, and what settled in the last 24 h; live.

import { formatDateTime, formatMoney, formatNumber } from "../format.js";
import { useSummary } from "../hooks/useSummary.js";
import { useLocale } from "../hooks/provider.js";
import { Card, ErrorState, LiveLine, Skeleton } from "../ui/parts.js";

export interface PayoutSummaryProps {
  refreshInterval?: number;
}

export function PayoutSummary({ refreshInterval }: PayoutSummaryProps) {
  const locale = useLocale();
  const kpis = useSummary(refreshInterval === undefined ? {} : { refreshInterval });
  const title = "Payouts";
  if (kpis.status === "loading") return <Skeleton title={title} />;
  if (!kpis.summary) return <ErrorState title={title} error={kpis.error} onRetry={() => void kpis.reload()} />;
  const summary = kpis.summary;
  const p = summary.payouts;
  const stat = (label: string, value: number, field: string) => (
    <div>
      <dt>{label}</dt>
      <dd data-field={field}>{formatNumber(value, { locale })}</dd>
    </div>
  );
  return (
    <Card title={title} state="ready">
      <dl className="molam-stats">
        {stat("Pending", p.pending, "pending")}
        {stat("Processing", p.processing, "processing")}
        {stat("Sent (24 h)", p.sent_24h, "sent_24h")}
        {stat("Failed", p.failed, "failed")}
      </dl>
      <dl className="molam-stats" style={{ marginTop: 16 }}>
        {stat("Active freezes", summary.freezes.count, "freezes")}
        {stat("Pending approvals", summary.approvals.pending, "approvals")}
      </dl>
      <h3 className="molam-muted">Settled in the last 24 h</h3>
      <ul className="molam-plain" data-field="settled">
        {p.settled_amount_24h.length ? (
          p.settled_amount_24h.map((s) => (
            <li key={s.currency} data-currency={s.currency}>
              {formatMoney(s.amount, s.currency, { locale })}
            </li>
          ))
        ) : (
          <li>Nothing settled</li>
        )}
      </ul>
      <LiveLine live={kpis.live} updated={formatDateTime(summary.computed_at, { locale })} />
    </Card>
  );
}
