import { useCallback, useEffect, useState } from "react";
import type { KpiState } from "@molam/ops-sdk";
import { useOpsClient } from "./provider.js";
import { toFailure } from "./failure.js";

export interface UseKpis extends KpiState {
  /** "loading" until the first summary or error, "error" while there is no
   *  summary to show, else "ready" (a later failure keeps the last summary
   *  and sets `error`). */
  status: "loading" | "ready" | "error";
  /** Read GET /api/metrics/summary now (the retry button). */
  reload(): Promise<void>;
}

const EMPTY: KpiState = { summary: null, error: null, live: false };

/** The live KPI summary: pushed by the /ws/kpis/ socket, polled every
 *  `refreshInterval` ms while it is down (client.subscribeKpis). */
export function useKpis(options: { refreshInterval?: number } = {}): UseKpis {
  const client = useOpsClient();
  const { refreshInterval } = options;
  const [state, setState] = useState<KpiState>(EMPTY);

  // the client calls the listener at once (with nothing known yet, for a
  // new client), so a new client never shows the previous one's figures
  useEffect(
    () => client.subscribeKpis(setState, refreshInterval === undefined ? {} : { refreshInterval }),
    [client, refreshInterval],
  );

  const reload = useCallback(async () => {
    try {
      const summary = await client.summary();
      setState((prev) => ({ ...prev, summary, error: null }));
    } catch (err) {
      setState((prev) => ({ ...prev, error: toFailure(err) as KpiState["error"] }));
    }
  }, [client]);

  const status = state.summary ? "ready" : state.error ? "error" : "loading";
  return { ...state, status, reload };
}
