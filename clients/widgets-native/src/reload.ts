import { useEffect, useRef } from "react";

/** Read again (keeping what is shown meanwhile) whenever `key` changes —
 *  the summary's approvals revision, say — rather than useResource's `deps`,
 *  which start over from the skeleton. */
export function useReloadOn(reload: () => Promise<void>, key: unknown): void {
  const seen = useRef(key);
  useEffect(() => {
    if (Object.is(seen.current, key)) return;
    seen.current = key;
    void reload();
  }, [key, reload]);
}
