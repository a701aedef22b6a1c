// The live KPI summary as the widgets read it. The service's schema types
// "summary" as a free-form object for now, so its fields are named here,
// as widgets/selectors.py (kpi_summary) makes them; a summary lacking one
// reads as empty rather than crashing the widget.

import type { KpiSummary } from "@molam/ops-sdk";

export interface TreasuryRow {
  currency: string;
  balance: string;
  float: string;
  headroom: string;
  accounts: number;
  accounts_below_float: number;
}

export interface BankRow {
  id: string;
  code?: string;
  name: string;
  names?: Record<string, string>;
  status: string;
  circuit_state: string;
  paused: boolean;
  frozen: boolean;
  freeze_scope: "global" | "bank" | null;
  success_rate: string;
  avg_latency_ms: number;
  currencies: string[];
  last_health_check_at: string | null;
}

export interface SummaryView {
  computed_at: string;
  treasury: TreasuryRow[];
  payouts: {
    pending: number;
    processing: number;
    sent_24h: number;
    failed: number;
    settled_amount_24h: { currency: string; amount: string }[];
  };
  banks: BankRow[];
  freezes: { global: boolean; count: number };
  approvals: { pending: number; revision: string };
  suggestions: { available: boolean; open: number };
}

export function view(summary: KpiSummary): SummaryView {
  const s = summary as Partial<SummaryView>;
  return {
    computed_at: s.computed_at ?? "",
    treasury: s.treasury ?? [],
    payouts: {
      pending: 0,
      processing: 0,
      sent_24h: 0,
      failed: 0,
      settled_amount_24h: [],
      ...s.payouts,
    },
    banks: s.banks ?? [],
    freezes: { global: false, count: 0, ...s.freezes },
    approvals: { pending: 0, revision: "", ...s.approvals },
    suggestions: { available: false, open: 0, ...s.suggestions },
  };
}

/** What names a bank: enough for bankName(). */
export type BankLike = Pick<BankRow, "id" | "name" | "names">;

/** A bank's name in the reader's language (modeltranslation names); an
 *  empty translation falls back to the name, as the dashboard does. */
export function bankName(bank: Pick<BankRow, "name" | "names">, locale: string): string {
  return bank.names?.[locale.slice(0, 2)] || bank.name;
}
