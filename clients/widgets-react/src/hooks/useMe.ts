import { useCallback, useSyncExternalStore } from "react";
import { useOpsContext } from "./provider.js";
import type { Me, MeState } from "./me-store.js";

export interface UseMe extends MeState {
  /** Whether the caller's roles allow the ops action `name` (its key in
   *  /api/ops/me `actions`); false until /api/ops/me has answered. */
  can(name: string): boolean;
  /** Whether this server has the action at all (`available_actions`), to
   *  tell "not for your roles" from "not on this server yet". */
  available(name: string): boolean;
  reload(): Promise<void>;
}

export type { Me, MeState };

/** The caller (GET /api/ops/me, read once per provider) and what they may do. */
export function useMe(): UseMe {
  const store = useOpsContext().me;
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  const me = state.data;
  const can = useCallback((name: string) => Boolean(me?.actions?.[name]), [me]);
  const available = useCallback((name: string) => Boolean(me?.available_actions?.includes(name)), [me]);
  return { ...state, can, available, reload: store.reload };
}
