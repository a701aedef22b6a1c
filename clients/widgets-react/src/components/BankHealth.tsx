// The bank connectors as tiles: green/yellow/red with circuit state and last
// check; a tile opens the bank's details and its actions (pause/resume, and
// a FreezeButton for its payouts).

import { useState } from "react";
import type { ActionResult } from "@molam/ops-sdk";
import { formatDateTime, formatNumber, formatPercent } from "../format.js";
import { useAction } from "../hooks/useAction.js";
import { useMeAndSummary } from "../hooks/useMeAndSummary.js";
import { useMe } from "../hooks/useMe.js";
import { useLocale, useOpsClient } from "../hooks/provider.js";
import { ConfirmDialog, Modal, ReasonField } from "../ui/dialog.js";
import { Card, ErrorState, LiveLine, Message, Pill, Skeleton } from "../ui/parts.js";
import { circuitText, healthText, pauseWording } from "../model/banks.js";
import { bankName, type BankRow } from "../model/summary.js";
import { FreezeButton } from "./FreezeButton.js";

const TONE: Record<string, "green" | "yellow" | "red"> = { green: "green", yellow: "yellow", red: "red" };

export interface BankHealthProps {
  refreshInterval?: number;
  /** After a pause or resume. */
  onSuccess?: (result: ActionResult<unknown>) => void;
}

export function BankHealth({ refreshInterval, onSuccess }: BankHealthProps) {
  const locale = useLocale();
  const { me, kpis, gate } = useMeAndSummary(refreshInterval === undefined ? {} : { refreshInterval });
  const [openId, setOpenId] = useState<string | null>(null);
  const title = "Bank health";
  if (gate === "loading") return <Skeleton title={title} />;
  if (gate || !me.data || !kpis.summary) {
    return <ErrorState title={title} error={gate?.error ?? null} onRetry={() => gate?.retry()} />;
  }
  const summary = kpis.summary;
  if (!summary.banks.length) {
    return (
      <Card title={title} state="empty">
        <Message tone="info">No bank connector is configured.</Message>
      </Card>
    );
  }
  const open = summary.banks.find((b) => b.id === openId) ?? null;
  return (
    <Card title={title} state="ready">
      <ul className="molam-tiles">
        {summary.banks.map((bank) => (
          <li key={bank.id}>
            <button
              type="button"
              className={`molam-button molam-tile molam-${TONE[bank.status] ?? "neutral"}`}
              data-bank={bank.id}
              aria-haspopup="dialog"
              onClick={() => setOpenId(bank.id)}
            >
              <strong>{bankName(bank, locale)}</strong>
              <Pill tone={TONE[bank.status] ?? "neutral"}>{healthText(bank.status)}</Pill>
              <span className="molam-muted">circuit {circuitText(bank.circuit_state)}</span>
              <span className="molam-muted">checked {formatDateTime(bank.last_health_check_at, { locale })}</span>
              <span>
                {bank.paused ? <Pill tone="yellow">Paused</Pill> : null} {bank.frozen ? <Pill tone="red">Frozen</Pill> : null}
              </span>
            </button>
          </li>
        ))}
      </ul>
      <LiveLine live={kpis.live} updated={formatDateTime(summary.computed_at, { locale })} />
      {open ? (
        <BankDetail
          bank={open}
          onClose={() => setOpenId(null)}
          onChanged={(result) => {
            void kpis.reload();
            onSuccess?.(result);
          }}
        />
      ) : null}
    </Card>
  );
}

function BankDetail({ bank, onClose, onChanged }: {
  bank: BankRow;
  onClose(): void;
  onChanged(result: ActionResult<unknown>): void;
}) {
  const client = useOpsClient();
  const locale = useLocale();
  const me = useMe();
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const bankLabel = bankName(bank, locale);
  const words = pauseWording(bank.paused, bankLabel);
  const name = words.action;
  const action = useAction((body: { bank_profile_id: string; reason: string }, o) =>
    name === "resume_bank" ? client.resumeBank(body, o) : client.pauseBank(body, o),
  );
  const allowed = me.can(name);
  return (
    <Modal title={bankLabel} onClose={onClose}>
      <dl>
        <dt>Health</dt>
        <dd>
          <Pill tone={TONE[bank.status] ?? "neutral"}>{healthText(bank.status)}</Pill>
        </dd>
        <dt>Circuit</dt>
        <dd>{circuitText(bank.circuit_state)}</dd>
        <dt>Success rate</dt>
        <dd>{formatPercent(bank.success_rate, { locale })}</dd>
        <dt>Average latency</dt>
        <dd>{formatNumber(bank.avg_latency_ms, { locale })} ms</dd>
        <dt>Currencies</dt>
        <dd>{bank.currencies.join(", ")}</dd>
        <dt>Last check</dt>
        <dd>{formatDateTime(bank.last_health_check_at, { locale })}</dd>
        <dt>Connector</dt>
        <dd data-field="paused">{bank.paused ? "Paused" : "Running"}</dd>
      </dl>
      <div className="molam-row" style={{ marginTop: 16 }}>
        <button
          type="button"
          className="molam-button"
          disabled={!allowed}
          aria-describedby={allowed ? undefined : `pause-why-${bank.id}`}
          onClick={() => {
            setDone(null);
            action.reset();
            setConfirming(true);
          }}
        >
          {words.button}
        </button>
      </div>
      {allowed ? null : (
        <p className="molam-muted" id={`pause-why-${bank.id}`}>
          Pausing or resuming a bank needs the pay_admin role.
        </p>
      )}
      {done ? <Message tone="ok">{done}</Message> : null}
      <FreezeButton scope={{ bank_profile_id: bank.id }} onSuccess={onChanged} />
      {confirming ? (
        <ConfirmDialog
          title={words.title}
          text={words.text}
          confirmLabel={words.confirm}
          danger={!bank.paused}
          pending={action.pending}
          error={action.error}
          onConfirm={(values) =>
            void action.run({ bank_profile_id: bank.id, reason: values["reason"] ?? "" }).then((result) => {
              if (!result) return;
              setConfirming(false);
              setDone(words.done);
              onChanged(result);
            })
          }
          onClose={() => setConfirming(false)}
        >
          <ReasonField label="Reason" required={!bank.paused} rows={2} />
        </ConfirmDialog>
      ) : null}
    </Modal>
  );
}
