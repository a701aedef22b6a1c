// The states every widget shares: loading (a skeleton), could not load (the
// reason and a retry), and cannot work with what it was given.

import { View } from "react-native";
import type { Failure } from "@molam/ops-widgets-react/hooks";
import { errorText } from "@molam/ops-widgets-react/model";
import { useTheme } from "../theme";
import { Button } from "./Button";
import { Card } from "./Card";
import { Message } from "./Message";

export function Skeleton({ title }: { title: string }) {
  const { styles } = useTheme();
  return (
    <Card title={title}>
      <View
        accessible
        accessibilityRole="progressbar"
        accessibilityLabel="Loading…" accessibilityState={{ busy: true }} testID="skeleton">
        <View style={[styles.skeleton, { width: "40%" }]} />
        <View style={[styles.skeleton, styles.skeletonTall]} />
        <View style={styles.skeleton} />
        <View style={[styles.skeleton, { width: "70%" }]} />
      </View>
    </Card>
  );
}

export function ErrorState({ title, error, onRetry }: { title: string; error: Failure | null; onRetry: () => void }) {
  const { styles } = useTheme();
  return (
    <Card title={title}>
      <Message kind="error" text={`Could not load this widget. ${errorText(error)}`.trim()} />
      <View style={styles.actions}>
        <Button label="Retry" onPress={onRetry} />
      </View>
    </Card>
  );
}

export function Invalid({ title, text }: { title: string; text: string }) {
  return (
    <Card title={title}>
      <Message kind="error" text={text} />
    </Card>
  );
}
