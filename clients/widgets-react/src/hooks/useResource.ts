import { useCallback, useEffect, useRef, useState } from "react";
import { toFailure, type Failure } from "./failure.js";

export interface ResourceState<T> {
  /** "loading" until the first answer; "error" when the first read (or a
   *  retry after it) failed; "ready" once there is data — a later failed
   *  refresh keeps the data and sets `error`. */
  status: "loading" | "ready" | "error";
  data: T | null;
  error: Failure | null;
  /** Read again now; resolves when the read is over. */
  reload(): Promise<void>;
}

export interface ResourceOptions {
  /** Read again every this many ms (none by default). */
  refreshInterval?: number;
  /** Read again from scratch (loading state) when one of these changes. */
  deps?: readonly unknown[];
  /** Read again, keeping what is shown meanwhile, when this value changes
   *  (the live summary's approvals revision, say). */
  refreshOn?: unknown;
}

/** Any read, with the loading / ready / error states every widget shows.
 *  `load` receives an AbortSignal that fires when the component unmounts
 *  or the read is superseded. The latest `load` is used for every read. */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  options: ResourceOptions = {},
): ResourceState<T> {
  const { refreshInterval, deps = [], refreshOn } = options;
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });
  const [state, setState] = useState<Omit<ResourceState<T>, "reload">>({
    status: "loading",
    data: null,
    error: null,
  });
  const controller = useRef<AbortController | null>(null);

  const read = useCallback(async () => {
    controller.current?.abort();
    const mine = new AbortController();
    controller.current = mine;
    setState((prev) => (prev.status === "error" ? { status: "loading", data: null, error: null } : prev));
    try {
      const data = await loadRef.current(mine.signal);
      if (!mine.signal.aborted) setState({ status: "ready", data, error: null });
    } catch (err) {
      if (mine.signal.aborted) return;
      setState((prev) =>
        prev.data === null
          ? { status: "error", data: null, error: toFailure(err) }
          : { status: "ready", data: prev.data, error: toFailure(err) },
      );
    }
  }, []);

  useEffect(() => {
    setState({ status: "loading", data: null, error: null });
    void read();
    return () => controller.current?.abort();
    // the caller's deps: a spread array, as the hook cannot list them itself
  }, [read, ...deps]);

  const lastRefreshOn = useRef(refreshOn);
  useEffect(() => {
    if (Object.is(lastRefreshOn.current, refreshOn)) return;
    lastRefreshOn.current = refreshOn;
    void read();
  }, [read, refreshOn]);

  useEffect(() => {
    if (!refreshInterval || refreshInterval <= 0) return undefined;
    const timer = setInterval(() => void read(), Math.max(1000, refreshInterval));
    return () => clearInterval(timer);
  }, [read, refreshInterval]);

  return { ...state, reload: read };
}
