import { Text, TextInput, View, type KeyboardTypeOptions } from "react-native";
import { useTheme } from "../theme";

export interface FieldProps {
  label: string;
  value: string;
  onChangeText: (text: string) => void;
  hint?: string;
  multiline?: boolean;
  maxLength?: number;
  keyboardType?: KeyboardTypeOptions;
  editable?: boolean;
}

/** A labelled text input; the label is also its accessibility label. */
export function Field({ label, value, onChangeText, hint, multiline, maxLength, keyboardType, editable = true }: FieldProps) {
  const { styles, palette } = useTheme();
  return (
    <View>
      <Text style={styles.label}>{label}</Text>
      <TextInput
        accessibilityLabel={label}
        accessibilityHint={hint}
        accessibilityState={{ disabled: !editable }}
        editable={editable}
        value={value}
        onChangeText={onChangeText}
        multiline={multiline}
        numberOfLines={multiline ? 3 : 1}
        maxLength={maxLength}
        keyboardType={keyboardType}
        placeholderTextColor={palette.muted}
        style={styles.input}
      />
      {hint ? <Text style={styles.muted}>{hint}</Text> : null}
    </View>
  );
}
