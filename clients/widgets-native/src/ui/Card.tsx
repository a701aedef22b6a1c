import type { ReactNode } from "react";
import { Text, View } from "react-native";
import { useTheme } from "../theme";

/** A widget's card with its title as the screen reader's header. */
export function Card({ title, children, testID }: { title: string; children?: ReactNode; testID?: string }) {
  const { styles } = useTheme();
  return (
    <View style={styles.card} testID={testID}>
      <Text style={styles.title} accessibilityRole="header">
        {title}
      </Text>
      {children}
    </View>
  );
}

/** A label and its value on one line (the dashboard's <dt>/<dd>). */
export function Pair({ label, value, testID }: { label: string; value: string; testID?: string }) {
  const { styles } = useTheme();
  return (
    <View style={styles.pair} accessible accessibilityLabel={`${label}: ${value}`}>
      <Text style={styles.muted}>{label}</Text>
      <Text style={styles.value} testID={testID}>
        {value}
      </Text>
    </View>
  );
}

export type Tone = "ok" | "wait" | "error" | "info" | "neutral";

export function Pill({ tone, text }: { tone: Tone; text: string }) {
  const { styles } = useTheme();
  return <Text style={[styles.pill, styles[tone]]}>{text}</Text>;
}
