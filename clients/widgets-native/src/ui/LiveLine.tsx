import { Text } from "react-native";
import { formatDateTime } from "@molam/ops-widgets-react/format";
import { useLocale } from "@molam/ops-widgets-react/hooks";
import { interpolate } from "@molam/ops-widgets-react/model";
import { useTheme } from "../theme";

/** "Live · updated …", or "Refreshing periodically" while the socket is down. */
export function LiveLine({ live, computedAt }: { live: boolean; computedAt: string }) {
  const { styles } = useTheme();
  const locale = useLocale();
  const updated = interpolate("updated %(time)s", { time: formatDateTime(computedAt, { locale }) });
  return (
    <Text style={styles.live} testID="live">
      {`${live ? "Live" : "Refreshing periodically"} · ${updated}`}
    </Text>
  );
}
