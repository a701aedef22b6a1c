// The live KPI summary as the widgets read it: the schema's KpiSummary. A
// summary lacking a part (a server older than this package) reads as empty
// rather than crashing the widget.

import type { KpiSummary, Schemas } from "@molam/ops-sdk";

export type TreasuryRow = Schemas["TreasuryFigure"];
export type BankRow = KpiSummary["banks"][number];
export type SummaryView = KpiSummary;

export function view(summary: KpiSummary): SummaryView {
  const s = summary as Partial<KpiSummary>;
  return {
    computed_at: s.computed_at ?? "",
    treasury: s.treasury ?? [],
    payouts: {
      pending: 0,
      processing: 0,
      failed: 0,
      sent_24h: 0,
      settled_24h: 0,
      settled_amount_24h: [],
      by_currency: [],
      ...s.payouts,
    },
    banks: s.banks ?? [],
    freezes: { global: false, count: 0, active: [], ...s.freezes },
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
