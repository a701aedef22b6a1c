// The live KPI summary's fields the widgets read. The service's schema types
// the summary as an open object (its shape is the metrics module's, not a
// serializer's), so this module names what GET /api/metrics/summary and the
// /ws/kpis/ frames carry, in one place; useSummary() is useKpis() read so.

import { useKpis, type UseKpis } from "@molam/ops-widgets-react/hooks";
import type { BankLike } from "./banks";

export interface TreasuryRow {
  currency: string;
  balance: string;
  float: string;
  headroom: string;
  accounts: number;
  accounts_below_float: number;
}

export interface SummaryBank extends BankLike {
  status: string;
  circuit_state: string;
  paused: boolean;
  frozen: boolean;
  freeze_scope: string | null;
  success_rate: string | null;
  avg_latency_ms: number | null;
  currencies: string[];
  last_health_check_at: string | null;
}

export interface Summary {
  computed_at: string;
  treasury: TreasuryRow[];
  payouts: {
    pending: number;
    processing: number;
    failed: number;
    sent_24h: number;
    settled_amount_24h: { currency: string; amount: string }[];
  };
  banks: SummaryBank[];
  freezes: { global: boolean; count: number };
  approvals: { pending: number; revision: string };
  suggestions: { available: boolean; open: number };
}

export type UseSummary = Omit<UseKpis, "summary"> & { summary: Summary | null };

export function useSummary(options: { refreshInterval?: number } = {}): UseSummary {
  const kpis = useKpis(options);
  return { ...kpis, summary: kpis.summary as unknown as Summary | null };
}
