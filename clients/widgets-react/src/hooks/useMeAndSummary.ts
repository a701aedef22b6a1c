import { failed, type Failed, type Part } from "../model/retry.js";
import { useMe, type UseMe } from "./useMe.js";
import { useSummary, type UseSummary } from "./useSummary.js";

export interface UseMeAndSummary {
  me: UseMe;
  kpis: UseSummary;
  /** "loading" until both have answered; then, when one has nothing to
   *  show, its error and a retry of what is missing; else null. */
  gate: "loading" | Failed | null;
  /** Both reads as failed() takes them, for a widget with a third read. */
  parts: readonly [Part, Part];
}

/** The two reads most widgets wait for: the caller (what they may do) and
 *  the live summary, with the skeleton / error / ready gate they share. */
export function useMeAndSummary(options: { refreshInterval?: number } = {}): UseMeAndSummary {
  const me = useMe();
  const kpis = useSummary(options);
  const parts = [
    { ok: Boolean(me.data), error: me.error, reload: me.reload },
    { ok: Boolean(kpis.summary), error: kpis.error, reload: kpis.reload },
  ] as const;
  const gate = me.status === "loading" || kpis.status === "loading" ? "loading" : failed(...parts);
  return { me, kpis, gate, parts };
}
