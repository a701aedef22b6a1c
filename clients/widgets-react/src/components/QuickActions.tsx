// Retry failed payouts in batch, regenerate a settlement report, force a
// reconciliation, download the audit log: each confirmed, each reporting
// its outcome; what the caller's roles cannot run is disabled with why.

import { useId, useState, type ReactNode } from "react";
import type { ActionResult } from "@molam/ops-sdk";
import { formatNumber } from "../format.js";
import { useAction } from "../hooks/useAction.js";
import { useMeAndSummary } from "../hooks/useMeAndSummary.js";
import { useLocale, useOpsClient } from "../hooks/provider.js";
import { ConfirmDialog, ReasonField } from "../ui/dialog.js";
import { actionOutcome } from "../model/actions.js";
import { Card, ErrorState, Message, Skeleton, type Tone } from "../ui/parts.js";
import { bankName, type BankRow } from "../model/summary.js";
import { exportAuditLog, type ExportFormat } from "../ui/export.js";

type Values = Record<string, string>;
interface Item {
  action: string;
  label: string;
  text: string;
  fields(banks: BankRow[]): ReactNode;
  body(values: Values): Record<string, unknown>;
}

function yesterday(): string {
  return new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
}

const withBank = (values: Values) => (values["bank_profile_id"] ? { bank_profile_id: values["bank_profile_id"] } : {});

function BankField({ banks }: { banks: BankRow[] }) {
  const locale = useLocale();
  const id = useId();
  return (
    <>
      <label htmlFor={id}>Bank</label>
      <select id={id} name="bank_profile_id" defaultValue="">
        <option value="">All banks</option>
        {banks.map((b) => (
          <option key={b.id} value={b.id}>
            {bankName(b, locale)}
          </option>
        ))}
      </select>
    </>
  );
}

function DayField() {
  const id = useId();
  return (
    <>
      <label htmlFor={id}>Day</label>
      <input id={id} name="date" type="date" required defaultValue={yesterday()} max={yesterday()} />
    </>
  );
}

const ITEMS: Item[] = [
  {
    action: "retry_failed_payouts",
    label: "Retry failed payouts",
    text: "Every failed payout (of the bank chosen, or of all banks) goes back to the queue.",
    fields: (banks) => <BankField banks={banks} />,
    body: withBank,
  },
  {
    action: "regenerate_settlement_report",
    label: "Regenerate the settlement report",
    text: "The settlement report of the chosen day is built again.",
    fields: (banks) => (
      <>
        <DayField />
        <BankField banks={banks} />
      </>
    ),
    body: (v) => ({ date: v["date"], ...withBank(v) }),
  },
  {
    action: "force_reconciliation",
    label: "Force a reconciliation",
    text: "Payouts are reconciled against the banks now, without waiting for the schedule.",
    fields: (banks) => (
      <>
        <BankField banks={banks} />
        <ReasonField label="Reason" required rows={2} />
      </>
    ),
    body: (v) => ({ reason: v["reason"], ...withBank(v) }),
  },
];

export interface QuickActionsProps {
  onSuccess?: (result: ActionResult<unknown>) => void;
}

export function QuickActions({ onSuccess }: QuickActionsProps) {
  const client = useOpsClient();
  const locale = useLocale();
  const { me, kpis, gate } = useMeAndSummary();
  const id = useId();
  const [running, setRunning] = useState<Item | "export" | null>(null);
  const [outcome, setOutcome] = useState<{ tone: Tone; text: string } | null>(null);
  const action = useAction((body: { name: string; payload: Record<string, unknown> }, o) =>
    client.action(body.name, body.payload, o),
  );
  const [exporting, setExporting] = useState<{ pending: boolean; error: Error | null }>({ pending: false, error: null });
  const title = "Quick actions";
  if (gate === "loading") return <Skeleton title={title} />;
  if (gate || !me.data || !kpis.summary) {
    return <ErrorState title={title} error={gate?.error ?? null} onRetry={() => gate?.retry()} />;
  }
  const banks = kpis.summary.banks;

  const run = (item: Item, values: Values) =>
    void action.run({ name: item.action, payload: item.body(values) }).then((result) => {
      if (!result) return;
      setRunning(null);
      const { kind, text } = actionOutcome(result, item.label, locale);
      setOutcome({ tone: kind, text });
      void kpis.reload();
      onSuccess?.(result);
    });

  const doExport = async (format: ExportFormat) => {
    setExporting({ pending: true, error: null });
    try {
      const size = await exportAuditLog(client, format, (text) => setOutcome({ tone: "wait", text }));
      setRunning(null);
      setExporting({ pending: false, error: null });
      setOutcome({ tone: "ok", text: `Audit log exported (${formatNumber(size, { locale })} bytes).` });
    } catch (err) {
      setExporting({ pending: false, error: err instanceof Error ? err : new Error(String(err)) });
    }
  };

  return (
    <Card title={title} state="ready">
      <ul className="molam-plain">
        {ITEMS.map((item) => {
          const allowed = me.can(item.action);
          const why = !me.available(item.action)
            ? "Not available on this server yet."
            : allowed
              ? ""
              : "Your roles do not allow this action.";
          return (
            <li key={item.action} style={{ marginBottom: 12 }}>
              <button
                type="button"
                className="molam-button"
                style={{ width: "100%", textAlign: "left" }}
                data-action={item.action}
                disabled={!allowed}
                aria-describedby={why ? `${id}-${item.action}` : undefined}
                onClick={() => {
                  setOutcome(null);
                  action.reset();
                  setRunning(item);
                }}
              >
                {item.label}
              </button>
              {why ? (
                <span className="molam-muted" id={`${id}-${item.action}`} style={{ display: "block", marginTop: 4 }}>
                  {why}
                </span>
              ) : null}
            </li>
          );
        })}
        <li>
          <button
            type="button"
            className="molam-button"
            style={{ width: "100%", textAlign: "left" }}
            data-action="export"
            onClick={() => {
              setOutcome(null);
              setExporting({ pending: false, error: null });
              setRunning("export");
            }}
          >
            Export the audit log
          </button>
        </li>
      </ul>
      <div aria-live="polite">{outcome ? <Message tone={outcome.tone}>{outcome.text}</Message> : null}</div>
      {running === "export" ? (
        <ConfirmDialog
          title="Export the audit log?"
          text="The whole log is downloaded, with its hashes."
          confirmLabel="Export"
          pending={exporting.pending}
          error={exporting.error}
          onConfirm={(values) => void doExport(values["format"] === "json" ? "json" : "csv")}
          onClose={() => setRunning(null)}
        >
          <label htmlFor={`${id}-format`}>Format</label>
          <select id={`${id}-format`} name="format" defaultValue="csv">
            <option value="csv">CSV</option>
            <option value="json">JSON</option>
          </select>
        </ConfirmDialog>
      ) : running ? (
        <ConfirmDialog
          title={`${running.label}?`}
          text={running.text}
          confirmLabel="Confirm"
          pending={action.pending}
          error={action.error}
          onConfirm={(values) => run(running, values)}
          onClose={() => setRunning(null)}
        >
          {running.fields(banks)}
        </ConfirmDialog>
      ) : null}
    </Card>
  );
}
