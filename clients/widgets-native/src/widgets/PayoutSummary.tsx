// Pending, processing, sent in 24 h, failed, active freezes, pending
// approvals and what settled in the last 24 h; live (<molam-payout-summary>).

import { formatMoney, formatNumber } from "@molam/ops-widgets-react/format";
import { useLocale, useSummary } from "@molam/ops-widgets-react/hooks";
import { Text, View } from "react-native";
import { useTheme } from "../theme";
import { Card } from "../ui/Card";
import { LiveLine } from "../ui/LiveLine";
import { ErrorState, Skeleton } from "../ui/States";

export interface PayoutSummaryProps {
  refreshInterval?: number;
}

function Stat({ label, value, testID }: { label: string; value: string; testID: string }) {
  const { styles } = useTheme();
  return (
    <View accessible accessibilityLabel={`${label}: ${value}`} style={{ minWidth: 110 }}>
      <Text style={styles.muted}>{label}</Text>
      <Text style={styles.figure} testID={testID}>
        {value}
      </Text>
    </View>
  );
}

export function PayoutSummary({ refreshInterval = 30000 }: PayoutSummaryProps) {
  const { styles } = useTheme();
  const locale = useLocale();
  const kpis = useSummary({ refreshInterval });
  const title = "Payouts";
  if (kpis.status === "loading") return <Skeleton title={title} />;
  if (!kpis.summary) return <ErrorState title={title} error={kpis.error} onRetry={() => void kpis.reload()} />;

  const { payouts, freezes, approvals } = kpis.summary;
  const n = (value: number) => formatNumber(value, { locale });
  return (
    <Card title={title}>
      <View style={styles.row}>
        <Stat label="Pending" value={n(payouts.pending)} testID="pending" />
        <Stat label="Processing" value={n(payouts.processing)} testID="processing" />
        <Stat label="Sent (24 h)" value={n(payouts.sent_24h)} testID="sent_24h" />
        <Stat label="Failed" value={n(payouts.failed)} testID="failed" />
      </View>
      <View style={styles.row}>
        <Stat label="Active freezes" value={n(freezes.count)} testID="freezes" />
        <Stat label="Pending approvals" value={n(approvals.pending)} testID="approvals" />
      </View>
      <Text style={styles.muted} accessibilityRole="header">
        Settled in the last 24 h
      </Text>
      <View accessibilityRole="list" testID="settled">
        {payouts.settled_amount_24h.length ? (
          payouts.settled_amount_24h.map((s) => (
            <Text key={s.currency} style={styles.text}>
              {formatMoney(s.amount, s.currency, { locale })}
            </Text>
          ))
        ) : (
          <Text style={styles.text}>Nothing settled</Text>
        )}
      </View>
      <LiveLine live={kpis.live} computedAt={kpis.summary.computed_at} />
    </Card>
  );
}
