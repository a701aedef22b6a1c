// The bank connectors, green/yellow/red with circuit state and last check; a
// bank opens its details and its actions: pause/resume, and a FreezeButton
// for its payouts (the dashboard's <molam-bank-health>).

import { useState } from "react";
import { Modal, Pressable, ScrollView, Text, View } from "react-native";
import { formatDateTime, formatNumber, formatPercent } from "@molam/ops-widgets-react/format";
import { useAction, useLocale, useMeAndSummary, useOpsClient } from "@molam/ops-widgets-react/hooks";
import type { ActionResult } from "@molam/ops-sdk";
import { bankName, circuitText, healthText, interpolate, pauseWording } from "@molam/ops-widgets-react/model";
import { healthColor, useTheme } from "../theme";
import { Button } from "../ui/Button";
import { Card, Pair, Pill, type Tone } from "../ui/Card";
import { ConfirmModal } from "../ui/ConfirmModal";
import { Field } from "../ui/Field";
import { LiveLine } from "../ui/LiveLine";
import { Message } from "../ui/Message";
import { ErrorState, Skeleton } from "../ui/States";
import { FreezeButton } from "./FreezeButton";

const TONE: Record<string, Tone> = { green: "ok", yellow: "wait", red: "error" };
const TITLE = "Bank health";

export interface BankHealthProps {
  refreshInterval?: number;
  /** After a pause or resume the server took. */
  onSuccess?: (result: ActionResult<unknown>) => void;
}

type PauseBody = { bank_profile_id: string; reason: string };

export function BankHealth({ refreshInterval = 30000, onSuccess }: BankHealthProps) {
  const { styles } = useTheme();
  const locale = useLocale();
  const client = useOpsClient();
  const { me, kpis, gate } = useMeAndSummary({ refreshInterval });
  const [openId, setOpenId] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const pause = useAction<PauseBody>((body, o) => client.pauseBank(body, o));
  const resume = useAction<PauseBody>((body, o) => client.resumeBank(body, o));

  if (gate === "loading") return <Skeleton title={TITLE} />;
  if (gate || !me.data || !kpis.summary) {
    return <ErrorState title={TITLE} error={gate?.error ?? null} onRetry={() => gate?.retry()} />;
  }
  const summary = kpis.summary;
  if (!summary.banks.length) {
    return (
      <Card title={TITLE}>
        <Message kind="info" text="No bank connector is configured." />
      </Card>
    );
  }
  const bank = openId ? summary.banks.find((b) => b.id === openId) : undefined;
  const runner = bank?.paused ? resume : pause;
  const words = bank ? pauseWording(bank.paused, bankName(bank, locale)) : null;
  const canPause = words ? me.can(words.action) : false;

  const confirm = async () => {
    if (!bank || !words) return;
    const result = await runner.run({ bank_profile_id: bank.id, reason: reason.trim() });
    if (!result) return;
    setAsking(false);
    setDone(words.done);
    void kpis.reload();
    onSuccess?.(result);
  };

  return (
    <Card title={TITLE}>
      <View accessibilityRole="list" style={{ gap: 12 }}>
        {summary.banks.map((b) => {
          const name = bankName(b, locale);
          const status = healthText(b.status);
          const circuit = interpolate("circuit %(state)s", { state: circuitText(b.circuit_state) });
          const checked = interpolate("checked %(time)s", { time: formatDateTime(b.last_health_check_at, { locale }) });
          return (
            <Pressable
              key={b.id}
              accessibilityRole="button"
              accessibilityLabel={[name, status, circuit, b.paused ? "Paused" : "", b.frozen ? "Frozen" : ""]
                .filter(Boolean)
                .join(", ")}
              accessibilityHint="Opens the bank's details and actions"
              onPress={() => {
                setDone(null);
                setOpenId(b.id);
              }}
              style={[styles.tile, { borderLeftColor: healthColor[b.status] ?? "#9ca3af" }]}
            >
              <Text style={styles.subtitle}>{name}</Text>
              <Pill tone={TONE[b.status] ?? "neutral"} text={status} />
              <Text style={styles.muted}>{circuit}</Text>
              <Text style={styles.muted}>{checked}</Text>
              <View style={styles.row}>
                {b.paused ? <Pill tone="wait" text="Paused" /> : null}
                {b.frozen ? <Pill tone="error" text="Frozen" /> : null}
              </View>
            </Pressable>
          );
        })}
      </View>
      <LiveLine live={kpis.live} computedAt={summary.computed_at} />
      <Modal visible={Boolean(bank)} transparent animationType="fade" onRequestClose={() => setOpenId(null)}>
        <View style={styles.backdrop}>
          {bank ? (
            <View style={styles.dialog} accessibilityViewIsModal>
              <ScrollView>
                <Text style={styles.subtitle} accessibilityRole="header">
                  {bankName(bank, locale)}
                </Text>
                <Pair label="Health" value={healthText(bank.status)} />
                <Pair label="Circuit" value={circuitText(bank.circuit_state)} />
                <Pair label="Success rate" value={formatPercent(bank.success_rate, { locale })} />
                <Pair
                  label="Average latency"
                  value={interpolate("%(ms)s ms", { ms: formatNumber(bank.avg_latency_ms ?? 0, { locale }) })}
                />
                <Pair label="Currencies" value={bank.currencies.join(", ")} />
                <Pair label="Last check" value={formatDateTime(bank.last_health_check_at, { locale })} />
                <Pair label="Connector" value={bank.paused ? "Paused" : "Running"} testID="connector" />
                <View style={[styles.row, { marginTop: 12 }]}>
                  <Button
                    label={words?.button ?? ""}
                    disabled={!canPause}
                    reason="Pausing or resuming a bank needs the pay_admin role."
                    onPress={() => {
                      runner.reset();
                      setReason("");
                      setAsking(true);
                    }}
                  />
                </View>
                {done ? <Message kind="ok" text={done} /> : null}
                <FreezeButton scope={{ bank_profile_id: bank.id }} />
                <View style={styles.actions}>
                  <Button label="Close" onPress={() => setOpenId(null)} />
                </View>
              </ScrollView>
              <ConfirmModal
                visible={asking}
                title={words?.title ?? ""}
                text={words?.text ?? ""}
                confirmLabel={words?.confirm ?? ""}
                danger={!bank.paused}
                busy={runner.pending}
                error={runner.error}
                blocked={!bank.paused && !reason.trim() ? "A reason is required." : undefined}
                onConfirm={() => void confirm()}
                onCancel={() => setAsking(false)}
              >
                <Field label="Reason" value={reason} onChangeText={setReason} multiline maxLength={500} />
              </ConfirmModal>
            </View>
          ) : null}
        </View>
      </Modal>
    </Card>
  );
}
