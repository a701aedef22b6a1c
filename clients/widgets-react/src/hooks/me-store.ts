// GET /api/ops/me once per provider, however many widgets ask: a tiny
// external store (useSyncExternalStore) rather than a fetch per hook.

import type { OpsClient, Schemas } from "@molam/ops-sdk";
import { toFailure, type Failure } from "./failure.js";

export type Me = Schemas["Me"];

export interface MeState {
  status: "loading" | "ready" | "error";
  data: Me | null;
  error: Failure | null;
}

export interface MeStore {
  getSnapshot(): MeState;
  subscribe(listener: () => void): () => void;
  /** Read /api/ops/me again (after an error, say); one read at a time. */
  reload(): Promise<void>;
}

export function createMeStore(client: OpsClient): MeStore {
  let state: MeState = { status: "loading", data: null, error: null };
  let inFlight: Promise<void> | null = null;
  let started = false;
  const listeners = new Set<() => void>();

  const set = (next: MeState) => {
    state = next;
    for (const listener of listeners) listener();
  };

  const reload = (): Promise<void> => {
    if (inFlight) return inFlight;
    if (state.status === "error") set({ status: "loading", data: null, error: null });
    inFlight = client.me().then(
      (me) => set({ status: "ready", data: me, error: null }),
      // a failed re-read keeps what was known; a failed first read is an error
      (err: unknown) =>
        set({ status: state.data ? "ready" : "error", data: state.data, error: toFailure(err) }),
    );
    void inFlight.finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  return {
    getSnapshot: () => state,
    subscribe(listener) {
      listeners.add(listener);
      if (!started) {
        started = true;
        void reload();
      }
      return () => {
        listeners.delete(listener);
      };
    },
    reload,
  };
}
