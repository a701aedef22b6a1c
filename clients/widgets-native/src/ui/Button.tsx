import { Pressable, Text, View } from "react-native";
import { useTheme } from "../theme";

export interface ButtonProps {
  label: string;
  onPress: () => void;
  variant?: "default" | "primary" | "danger";
  disabled?: boolean;
  busy?: boolean;
  /** Why the button is disabled (RBAC, a request already waiting): shown
   *  under it and read as its hint, so nobody has to guess. */
  reason?: string | undefined;
  /** false when the card already says why, once for many buttons */
  showReason?: boolean;
  testID?: string;
}

export function Button({ label, onPress, variant = "default", disabled = false, busy = false, reason, showReason = true, testID }: ButtonProps) {
  const { styles } = useTheme();
  const inactive = disabled || busy;
  const accent = variant !== "default";
  return (
    <View>
      <Pressable
        accessibilityRole="button"
        accessibilityLabel={label}
        accessibilityHint={disabled ? reason : undefined}
        accessibilityState={{ disabled: inactive, busy }}
        disabled={inactive}
        onPress={onPress}
        testID={testID}
        style={({ pressed }) => [
          styles.button,
          variant === "primary" && styles.buttonPrimary,
          variant === "danger" && styles.buttonDanger,
          inactive && styles.buttonDisabled,
          pressed && styles.buttonPressed,
        ]}
      >
        <Text style={[styles.buttonText, accent && styles.buttonTextAccent]}>{label}</Text>
      </Pressable>
      {disabled && reason && showReason ? <Text style={styles.muted}>{reason}</Text> : null}
    </View>
  );
}

/** One option of a radio group (plan type, time frame, bank). */
export function Choice({ label, selected, onPress }: { label: string; selected: boolean; onPress: () => void }) {
  const { styles } = useTheme();
  return (
    <Pressable
      accessibilityRole="radio"
      accessibilityLabel={label}
      accessibilityState={{ checked: selected, selected }}
      onPress={onPress}
      style={[styles.choice, selected && styles.choiceSelected]}
    >
      <Text style={styles.text}>{label}</Text>
    </Pressable>
  );
}
