// The confirmation before an action runs, as the dashboard's dialog: what
// will happen, the action's fields, Cancel and the action. A failure stays in
// the dialog, whose button then reads "Retry" (the caller's useAction keeps
// the same Idempotency-Key for it).

import type { ReactNode } from "react";
import { Modal, ScrollView, Text, View } from "react-native";
import type { Failure } from "@molam/ops-widgets-react/hooks";
import { errorText } from "@molam/ops-widgets-react/model";
import { useTheme } from "../theme";
import { Button } from "./Button";
import { Message } from "./Message";

export interface ConfirmModalProps {
  visible: boolean;
  title: string;
  text: string;
  confirmLabel: string;
  busyLabel?: string;
  danger?: boolean;
  busy: boolean;
  error: Failure | null;
  /** Why the confirm button cannot be pressed yet (a required reason). */
  blocked?: string | undefined;
  onConfirm: () => void;
  onCancel: () => void;
  children?: ReactNode;
}

export function ConfirmModal(props: ConfirmModalProps) {
  const { styles } = useTheme();
  const { visible, title, text, confirmLabel, busyLabel, danger, busy, error, blocked, onConfirm, onCancel, children } = props;
  return (
    <Modal
      visible={visible}
      transparent
      animationType="fade"
      // not while it runs: the answer would have nowhere to go
      onRequestClose={() => (busy ? undefined : onCancel())}
    >
      <View style={styles.backdrop}>
        <View style={styles.dialog} accessibilityViewIsModal testID="dialog">
          <ScrollView keyboardShouldPersistTaps="handled">
            <Text style={styles.subtitle} accessibilityRole="header">
              {title}
            </Text>
            <Text style={styles.text}>{text}</Text>
            {children}
            {error ? <Message kind="error" text={errorText(error)} /> : null}
            <View style={styles.actions}>
              <Button label="Cancel" onPress={onCancel} disabled={busy} />
              <Button
                label={busy ? (busyLabel ?? "Working…") : error ? "Retry" : confirmLabel}
                variant={danger ? "danger" : "primary"}
                onPress={onConfirm}
                busy={busy}
                disabled={Boolean(blocked)}
                reason={blocked}
              />
            </View>
          </ScrollView>
        </View>
      </View>
    </Modal>
  );
}
