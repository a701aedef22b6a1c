"""``record_plan``, the system action that writes a generated plan's outcome
(steps, status, approval request), and the plan's approval (DESIGN §7):
quorum → ``approved``; declined or expired → ``rejected``."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from molam_ops.actions import runner
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.ports import on_approval, ports
from molam_ops.actions.registry import ops_action
from molam_ops.actions.rules import (
    signatures_for_payout_count,
    signatures_for_usd,
    strictest,
)
from molam_ops.errors import OpsError
from molam_ops.identity import SYSTEM_ROLE, Principal, system_principal
from plans.choices import PlanStatus, PlanType
from plans.models import Plan, PlanStep
from plans.serializers import PlanSerializer
from plans.services.plan_inputs import RecordPlanInput

# who moves a plan when its approval is decided
APPROVALS_ACTOR = system_principal("approvals")

# --- record_plan: the system action that writes the outcome --------------------


def _initiator_ctx(plan: Plan, ctx: ActionContext) -> ActionContext:
    """The generation's context: the approval is the generating user's."""
    who = plan.details.get("initiator") or {}
    return ActionContext(
        action_id=plan.action_id or ctx.action_id,
        action_type="generate_plan",
        principal=Principal(
            id=plan.created_by,
            roles=frozenset(who.get("roles") or ()),
            kind=who.get("kind") or "jwt",
        ),
        role=who.get("role") or "none",
        meta=ctx.meta,
    )


def plan_approval_facts(plan: Plan, *, steps: int) -> dict[str, Any]:
    """What the plan's approval summary names (approvals/summaries.py)."""
    preview = (plan.details or {}).get("preview")
    return {
        "what": gettext_noop(
            "execute plan %(plan)s (%(plan_type)s: %(steps)s steps, "
            "%(payouts)s payouts)"
        ),
        "what_args": {
            "plan": str(plan.id)[:8],
            "plan_type": PlanType(plan.plan_type).label,
            "steps": steps,
            "payouts": plan.payout_count,
        },
        "translate_args": ["plan_type"],
        "target": {"plan_id": str(plan.id), "plan_type": plan.plan_type},
        "amount": f"{plan.total_amount:.2f}",
        "currency": plan.currency,
        # what the signers are shown it changes (approvals/summaries.py)
        **({"preview": preview["totals"]} if preview else {}),
    }


def signatures_for_plan(
    total_amount: Decimal, payout_count: int, *, asked: bool
) -> int:
    """DESIGN §7: the strictest of the amount and payout-count rules. When
    SIRA asks for approval and no rule applies, the plan-execution rule's
    signature count is used: SIRA's caution is never ignored."""
    required = strictest(
        signatures_for_usd(total_amount), signatures_for_payout_count(payout_count)
    )
    if asked and not required:
        required = settings.APPROVAL_PLAN_PAYOUTS_SIGNATURES
    return required


ERRORS = {
    "infeasible": (
        "infeasible_constraints",
        _("No plan satisfies these constraints."),
    ),
    "error": ("planner_error", _("The planner failed; nothing was planned.")),
}


@ops_action("record_plan", roles={"system"}, input=RecordPlanInput, http=False)
def record_plan(
    ctx: ActionContext, *, plan_id: uuid.UUID, record: dict[str, Any]
) -> Outcome:
    """Write a generated plan: steps, status, approval request (system)."""
    outcome = record["outcome"]
    failed = outcome["status"] in ERRORS
    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise OpsError("plan_not_found", _("No plan with this id."), status=404)
    details = {
        **plan.details,
        "outcome": outcome["status"],
        "timings": record["timings"],
        "planner_timings": outcome.get("timings") or {},
        **({"estimate": outcome["estimate"]} if outcome.get("estimate") else {}),
        **({"sira": record["sira"]} if record.get("sira") else {}),
        # what the planner says of the plan (constraints_used, unmet, ...)
        **(outcome.get("plan_details") or {}),
        # preview, selection, summary_facts (plans/services/preview.py)
        **({} if failed else record.get("details") or {}),
    }
    steps = [] if failed else outcome["steps"]
    if failed:
        code, message = ERRORS[outcome["status"]]
        details["error"] = {
            "code": code,
            "message": str(message),
            "reason": outcome.get("reason") or "",
        }
    else:
        details["progress"] = {"done": 0, "total": len(steps)}
    total = Decimal(outcome.get("total_amount") or 0) if not failed else Decimal(0)
    count = int(outcome.get("payout_count") or 0) if not failed else 0
    now = timezone.now()
    # generating → pending/failed once: a second run of the task finds no row
    if not Plan.objects.filter(pk=plan_id, status=PlanStatus.GENERATING).update(
        status=PlanStatus.FAILED if failed else PlanStatus.PENDING,
        source=record["source"],
        planner_version=record["planner_version"],
        input_hash=record["input_hash"],
        fallback_reason=record["fallback_reason"],
        summary=outcome.get("summary")
        or str(ERRORS.get(outcome["status"], ("", ""))[1]),
        steps=steps,
        total_amount=total,
        payout_count=count,
        details=details,
        plan_data=record["plan_data"],
        updated_at=now,
    ):
        raise OpsError(
            "plan_not_generating", _("This plan is no longer generating."), status=409
        )
    PlanStep.objects.bulk_create(
        PlanStep(
            plan_id=plan_id,
            index=i,
            action=step["action"],
            fields={k: v for k, v in step.items() if k != "action"},
        )
        for i, step in enumerate(steps)
    )
    approval = None
    required = (
        signatures_for_plan(total, count, asked=bool(outcome.get("approval_required")))
        if steps
        else 0
    )
    if required:
        if ports.approvals is None:
            raise RuntimeError("plan needs signatures but no approvals app")
        plan.refresh_from_db()
        approval = ports.approvals.open_request(
            _initiator_ctx(plan, ctx),
            action_type="execute_plan",
            payload={"plan_id": str(plan_id)},
            required=required,
            mode="token",
            facts=plan_approval_facts(plan, steps=len(steps)),
        )
        Plan.objects.filter(pk=plan_id).update(
            approval_required=True, approval_id=approval["id"]
        )
    plan.refresh_from_db()
    approvals = {approval["id"]: approval} if approval else {}
    ctx.emit(
        "plans.plan.generated",
        {"plan_id": str(plan_id), "status": plan.status, "source": plan.source},
    )
    return Outcome(
        target={"plan_id": str(plan_id), "plan_type": plan.plan_type},
        resource={"plan": PlanSerializer(plan, context={"approvals": approvals}).data},
        details={
            "status": plan.status,
            "source": plan.source,
            "planner_version": plan.planner_version,
            "input_hash": plan.input_hash,
            "fallback_reason": plan.fallback_reason,
            "steps": len(steps),
            "total_amount": f"{total:.2f}",
            "payout_count": count,
            "required_approvals": required,
            "approval_id": approval["id"] if approval else None,
            **({"error": details["error"]} if failed else {}),
            "timings": record["timings"],
        },
    )


# --- the plan's approval (DESIGN §7) ---------------------------------------------


def on_execute_plan_approval(
    approval_id: str, payload: dict[str, Any], status: str
) -> None:
    """Called by the approvals app inside the deciding transaction: the plan's
    move (``record_plan_approval``) is a system action of its own, nested in
    that transaction. A plan no longer waiting is left as it is."""
    if status not in {"approved", "declined", "expired"}:
        return
    ctx = ActionContext(
        action_id=uuid.uuid4(),
        action_type="record_plan_approval",
        principal=APPROVALS_ACTOR,
        role=SYSTEM_ROLE,
    )
    body = {"plan_id": payload.get("plan_id"), "approval_id": approval_id}
    try:
        runner.run_inside("record_plan_approval", ctx, {**body, "status": status})
    except OpsError as exc:
        if exc.code != "plan_not_waiting":
            raise


def connect_approvals() -> None:
    """From ``PlansConfig.ready()``."""
    on_approval("execute_plan", on_execute_plan_approval)
