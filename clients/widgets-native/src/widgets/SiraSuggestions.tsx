// SIRA's open suggestions with their confidence (the dashboard's
// <molam-suggestions>). Accept confirms the action and its target before
// running it; decline asks for a reason.

import { useState } from "react";
import { Text, View } from "react-native";
import { formatNumber, formatPercent } from "@molam/ops-widgets-react/format";
import { useAction, useLocale, useMeAndSummary, useOpsClient, useResource } from "@molam/ops-widgets-react/hooks";
import type { ActionResult } from "@molam/ops-sdk";
import {
  errorText,
  failed,
  interpolate,
  isDangerous,
  suggestionAction,
  suggestionTarget,
} from "@molam/ops-widgets-react/model";
import { useTheme } from "../theme";
import { Button } from "../ui/Button";
import { Card, Pair } from "../ui/Card";
import { ConfirmModal } from "../ui/ConfirmModal";
import { Field } from "../ui/Field";
import { Message } from "../ui/Message";
import { ErrorState, Skeleton } from "../ui/States";

const TITLE = "Suggestions";

interface SuggestionLike {
  id: string;
  title: string;
  description?: string | null;
  confidence?: string | number | null;
  action?: { action_type?: string; payload?: Record<string, unknown> | null } | null;
}

export interface SiraSuggestionsProps {
  /** After a suggestion was accepted or declined. */
  onSuccess?: (result: ActionResult<unknown>, decision: "accept" | "decline") => void;
}

type Decision = { suggestion: SuggestionLike; accepting: boolean };

export function SiraSuggestions({ onSuccess }: SiraSuggestionsProps) {
  const { styles } = useTheme();
  const locale = useLocale();
  const client = useOpsClient();
  const { me, kpis, gate, parts } = useMeAndSummary();
  const revision = JSON.stringify(kpis.summary?.suggestions ?? null);
  const list = useResource(async () => (await client.suggestions()) as unknown as SuggestionLike[], {
    refreshOn: revision,
  });
  const [deciding, setDeciding] = useState<Decision | null>(null);
  const [reason, setReason] = useState("");
  const [done, setDone] = useState<string[]>([]);
  const accept = useAction<{ id: string }>((body, o) => client.acceptSuggestion(body.id, {}, o));
  const decline = useAction<{ id: string; reason: string }>((body, o) =>
    client.declineSuggestion(body.id, { reason: body.reason }, o),
  );

  if (gate === "loading" || list.status === "loading") return <Skeleton title={TITLE} />;
  const failure = failed(...parts, { ok: list.status !== "error", error: list.error, reload: list.reload });
  if (failure || !me.data || !kpis.summary) {
    return <ErrorState title={TITLE} error={failure?.error ?? null} onRetry={() => failure?.retry()} />;
  }
  if (!kpis.summary.suggestions.available) {
    return (
      <Card title={TITLE}>
        <Message kind="info" text="Suggestions are not available on this server yet." />
      </Card>
    );
  }
  const banks = kpis.summary.banks;
  const items = (list.data ?? []).filter((s) => !done.includes(s.id));
  const target = (s: SuggestionLike): string => suggestionTarget(s.action, banks, locale);
  const what = (s: SuggestionLike) => suggestionAction(s.action);
  const runner = deciding?.accepting ? accept : decline;

  const confirm = async () => {
    if (!deciding) return;
    const { suggestion, accepting } = deciding;
    const result = accepting ? await accept.run({ id: suggestion.id }) : await decline.run({ id: suggestion.id, reason: reason.trim() });
    if (!result) return;
    setDeciding(null);
    setDone((prev) => [...prev, suggestion.id]);
    void kpis.reload();
    onSuccess?.(result, accepting ? "accept" : "decline");
  };

  return (
    <Card title={TITLE}>
      <Text style={styles.text} accessibilityLiveRegion="polite" testID="count">
        {interpolate("SIRA suggestions: %(count)s open", { count: formatNumber(items.length, { locale }) })}
      </Text>
      {list.error ? <Message kind="error" text={errorText(list.error)} /> : null}
      {items.length ? (
        <View accessibilityRole="list">
          {items.map((s) => (
            <View key={s.id} style={styles.item} testID={`suggestion-${s.id}`}>
              <Text style={styles.subtitle} accessibilityRole="header">
                {s.title}
              </Text>
              {s.description ? <Text style={styles.muted}>{s.description}</Text> : null}
              <Text style={styles.text}>
                {interpolate("Proposes: %(action)s — %(target)s", { action: what(s), target: target(s) })}
              </Text>
              <Text style={styles.text}>
                {interpolate("Confidence %(value)s", { value: formatPercent(s.confidence ?? 0, { locale }) })}
              </Text>
              <View style={styles.row}>
                <Button
                  label="Accept"
                  variant="primary"
                  disabled={!me.can("accept_suggestion")}
                  reason="Your roles do not allow this action."
                  onPress={() => {
                    accept.reset();
                    setDeciding({ suggestion: s, accepting: true });
                  }}
                />
                <Button
                  label="Decline"
                  disabled={!me.can("decline_suggestion")}
                  reason="Your roles do not allow this action."
                  onPress={() => {
                    decline.reset();
                    setReason("");
                    setDeciding({ suggestion: s, accepting: false });
                  }}
                />
              </View>
            </View>
          ))}
        </View>
      ) : (
        <Text style={styles.muted}>No open suggestion.</Text>
      )}
      {deciding ? (
        <ConfirmModal
          visible
          title={deciding.accepting ? "Accept this suggestion?" : "Decline this suggestion?"}
          text={
            deciding.accepting
              ? interpolate("This runs “%(action)s” on %(target)s, as you.", {
                  action: what(deciding.suggestion),
                  target: target(deciding.suggestion),
                })
              : deciding.suggestion.title
          }
          confirmLabel={deciding.accepting ? "Accept" : "Decline"}
          danger={deciding.accepting && isDangerous(deciding.suggestion.action)}
          busy={runner.pending}
          error={runner.error}
          blocked={!deciding.accepting && !reason.trim() ? "Say why you decline." : undefined}
          onConfirm={() => void confirm()}
          onCancel={() => setDeciding(null)}
        >
          {deciding.accepting ? (
            <View>
              <Pair label="Action" value={what(deciding.suggestion)} />
              <Pair label="Target" value={target(deciding.suggestion)} />
            </View>
          ) : (
            <Field label="Why decline it? (required)" value={reason} onChangeText={setReason} multiline maxLength={500} />
          )}
        </ConfirmModal>
      ) : null}
    </Card>
  );
}
