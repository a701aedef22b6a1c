import { useEffect, useState } from "react";
import { Text } from "react-native";
import { formatTimeLeft } from "@molam/ops-widgets-react/format";

// Seconds show only in the last hour ("04 min 09 s left"): before that the
// text changes once a minute, so a tick every 30 s is enough.
const HOUR = 3600000;

/** "3 h 05 min left", counted down while it is on screen (nest it in a Text). */
export function TimeLeft({ iso }: { iso: string }) {
  const [, setTick] = useState(0);
  const end = Date.parse(iso);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    const schedule = () => {
      const left = end - Date.now();
      if (!(left > 0)) return;
      timer = setTimeout(() => {
        setTick((n) => n + 1);
        schedule();
      }, left > HOUR ? 30000 : 1000);
    };
    schedule();
    return () => clearTimeout(timer);
  }, [end]);
  return <Text>{formatTimeLeft(iso)}</Text>;
}
