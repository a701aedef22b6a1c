import type { ReactNode } from "react";
import { Text } from "react-native";
import { useTheme } from "../theme";

export type MessageKind = "ok" | "wait" | "error" | "info";

/** A status line. Errors are alerts read at once; the others are polite live
 *  regions, so a screen reader says a change without moving the focus. */
export function Message({
  kind,
  text,
  testID,
  children,
}: {
  kind: MessageKind;
  text: string;
  testID?: string;
  /** more of the line after the text (a countdown) */
  children?: ReactNode;
}) {
  const { styles } = useTheme();
  return (
    <Text
      style={[styles.message, styles[kind]]}
      accessibilityRole={kind === "error" ? "alert" : "text"}
      accessibilityLiveRegion={kind === "error" ? "assertive" : "polite"}
      testID={testID}
    >
      {text}
      {children}
    </Text>
  );
}
