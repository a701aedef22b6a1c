import { useMemo } from "react";
import { view, type SummaryView } from "../model/summary.js";
import { useKpis, type UseKpis } from "./useKpis.js";

export type UseSummary = Omit<UseKpis, "summary"> & { summary: SummaryView | null };

/** useKpis() with its summary read through view(): every field the widgets
 *  read is there, a missing one as empty. */
export function useSummary(options: { refreshInterval?: number } = {}): UseSummary {
  const kpis = useKpis(options);
  const summary = useMemo(() => (kpis.summary ? view(kpis.summary) : null), [kpis.summary]);
  return { ...kpis, summary };
}
