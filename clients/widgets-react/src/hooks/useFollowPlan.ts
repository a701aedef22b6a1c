import { useCallback, useEffect, useRef, useState } from "react";
import { MOVING, readPlan, type PlanLike } from "../model/plans.js";
import { toFailure, type Failure } from "./failure.js";
import { useOpsClient } from "./provider.js";

export interface FollowPlan<P extends PlanLike> {
  plan: P | null;
  /** Show this plan (as it is) without following it. */
  setPlan(plan: P | null): void;
  /** True while a plan that moves on by itself is read again every second. */
  following: boolean;
  /** Why the last follow stopped early (the plan shown stays as last read). */
  error: Failure | null;
  /** Show `start` and read it again every second while it is generating or
   *  executing (two minutes at most); resolves with the plan as it stands,
   *  or null when the component went away meanwhile. */
  follow(start: P): Promise<P | null>;
}

export function useFollowPlan<P extends PlanLike>(): FollowPlan<P> {
  const client = useOpsClient();
  const [plan, setPlan] = useState<P | null>(null);
  const [following, setFollowing] = useState(false);
  const [error, setError] = useState<Failure | null>(null);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const follow = useCallback(
    async (start: P): Promise<P | null> => {
      let current = start;
      setFollowing(true);
      setError(null);
      try {
        for (let i = 0; i < 120 && MOVING.has(current.status) && alive.current; i++) {
          setPlan(current);
          await new Promise((resolve) => setTimeout(resolve, 1000));
          // the same plan, read again: P is the caller's view of a Plan
          current = (await readPlan(client, current.id)) as unknown as P;
        }
      } catch (err) {
        if (alive.current) setError(toFailure(err));
      } finally {
        if (alive.current) setFollowing(false);
      }
      if (!alive.current) return null;
      setPlan(current);
      return current;
    },
    [client],
  );

  return { plan, setPlan, following, error, follow };
}
