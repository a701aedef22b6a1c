"""regenerate_settlement_report / force_reconciliation.

The plane does not build settlement reports or reconcile ledgers: the services
that own them do. What an operator does here is ask them to, accountably — an
ops action whose effect is one event on the bus, written to the outbox in the
transaction of its audit row, so the request is recorded if and only if it is
sent. The answer is 202: the work itself happens in those services.
"""

from __future__ import annotations

import uuid
from datetime import date as Date
from typing import Any

from controls.payout_inputs import (
    ForceReconciliationInput,
    RegenerateSettlementReportInput,
)
from controls.services._common import bank_or_404
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action

SETTLEMENT_REPORT_TOPIC = "settlement.report.regenerate_requested"
RECONCILIATION_TOPIC = "treasury.reconciliation.force_requested"


def _request(ctx: ActionContext, topic: str, payload: dict[str, Any]) -> Outcome:
    event = {
        **payload,
        "action_id": str(ctx.action_id),
        "requested_by": ctx.actor_id,
    }
    ctx.emit(topic, event)
    return Outcome(
        target={k: payload[k] for k in ("date", "bank_profile_id") if k in payload},
        resource={"request": {"topic": topic, "payload": event}},
        details={"topic": topic, **payload},
        status=202,
    )


@ops_action(
    "regenerate_settlement_report",
    roles={"pay_admin", "finance_ops"},
    input=RegenerateSettlementReportInput,
    resource="request",
)
def regenerate_settlement_report(
    ctx: ActionContext, *, date: Date, bank_profile_id: uuid.UUID | None = None
) -> Outcome:
    """Ask the settlement service to rebuild a day's report (of one bank or all)."""
    bank_id = str(bank_or_404(bank_profile_id).id) if bank_profile_id else None
    return _request(
        ctx,
        SETTLEMENT_REPORT_TOPIC,
        {"date": date.isoformat(), "bank_profile_id": bank_id},
    )


@ops_action(
    "force_reconciliation",
    roles={"pay_admin", "finance_ops"},
    input=ForceReconciliationInput,
    resource="request",
)
def force_reconciliation(
    ctx: ActionContext, *, reason: str, bank_profile_id: uuid.UUID | None = None
) -> Outcome:
    """Ask the treasury service to reconcile now (one bank or all)."""
    bank_id = str(bank_or_404(bank_profile_id).id) if bank_profile_id else None
    return _request(
        ctx, RECONCILIATION_TOPIC, {"bank_profile_id": bank_id, "reason": reason}
    )
