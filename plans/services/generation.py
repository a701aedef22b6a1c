"""Plan generation (DESIGN §8): ``generate_plan`` answers 202 with the plan in
``generating``; after commit a worker (``plans.tasks.generate_plan_task``)
builds the input snapshot, asks SIRA or falls back to the local planner, and
writes the outcome with the system action ``record_plan``.

``plan_params``:

- ``type``: ``routing_optimization``, ``float_rebalance`` or ``risk_mitigation``;
- ``timeframe``: the horizon the plan covers, in hours: an integer, or a string
  ``"<n>h"`` or ``"<n>d"`` (``"24h"``, ``"7d"``); from 1 hour to 30 days,
  default 24 hours; stored as ``timeframe_hours``;
- ``constraints`` (all optional), as the local planner defines them
  (``plans.planner.types.Constraints``): ``max_cost`` (USD of fees after the
  plan, 0 to 1e12), ``min_success_rate`` (0 to 1), ``max_bank_share`` (0.01
  to 1), ``failure_rate_threshold`` (0 to 1), ``buffer_percent`` (0 to 10),
  ``min_saving_per_payout`` (USD, 0 to 1000). An unknown constraint is
  refused (400), so a typo never passes silently as "no constraint".
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

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
from molam_ops.identity import Principal, system_principal
from plans import crypto, sira_client
from plans.choices import PlanSource, PlanStatus, PlanType
from plans.models import Plan, PlanStep
from plans.planner.types import ConstraintError, Constraints
from plans.serializers import plan_data

log = logging.getLogger(__name__)

MAX_TIMEFRAME_HOURS = 30 * 24
TIMEFRAME = re.compile(r"^\s*([0-9]{1,4})\s*([hd])\s*$")
SYSTEM_ACTOR = "plans.generation"


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_TIMEFRAME_HOURS},
            {"type": "string", "pattern": "^[0-9]{1,4}[hd]$", "example": "24h"},
        ],
        "description": "Hours, or a string like 24h or 7d; 1 hour to 30 days.",
    }
)
class TimeframeField(serializers.Field):
    """Hours, as an integer or ``"<n>h"`` / ``"<n>d"``; 1 h to 30 days."""

    default_error_messages = {
        "invalid": _('Expected hours as an integer, or a string like "24h" or "7d".'),
        "range": _("Must be from 1 hour to 30 days."),
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            hours = data
        elif isinstance(data, str) and (match := TIMEFRAME.match(data)):
            hours = int(match[1]) * (24 if match[2] == "d" else 1)
        else:
            self.fail("invalid")
        if not 1 <= hours <= MAX_TIMEFRAME_HOURS:
            self.fail("range")
        return hours

    def to_representation(self, value: int) -> int:
        return value


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            name: {
                "type": "string",
                "format": "decimal",
                "description": f"{low} to {high}",
            }
            for name, (low, high) in Constraints.LIMITS.items()
        },
    }
)
class ConstraintsField(serializers.Field):
    """``constraints``: checked by the planner's own ``Constraints`` (one
    definition of names and ranges); kept as decimal strings."""

    default_error_messages = {"invalid": _("Expected an object.")}

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if not isinstance(data, dict):
            self.fail("invalid")
        try:
            Constraints.from_params(data)
        except ConstraintError as exc:
            raise serializers.ValidationError(exc.fields) from None
        return {
            k: str(Decimal(str(v))) for k, v in sorted(data.items()) if v is not None
        }

    def to_representation(self, value: dict[str, str]) -> dict[str, str]:
        return value


class PlanParamsInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=PlanType.choices)
    timeframe = TimeframeField(required=False, default=24)
    constraints = ConstraintsField(required=False, default=dict)


class GeneratePlanInput(serializers.Serializer):
    target_fields = ("plan_params",)
    plan_params = PlanParamsInput()


def params_json(plan_params: dict[str, Any]) -> dict[str, Any]:
    """What the plan keeps of its request: decimals as strings."""
    return {
        "type": plan_params["type"],
        "timeframe_hours": plan_params["timeframe"],
        "constraints": dict(plan_params.get("constraints") or {}),
    }


def _queue_generation(plan_id: uuid.UUID) -> None:
    from plans.tasks import generate_plan_task

    try:
        generate_plan_task.delay(str(plan_id))
    except Exception:  # the beat sweep re-queues plans left generating
        log.warning("could not queue generation of plan %s", plan_id, exc_info=True)


@ops_action(
    "generate_plan",
    roles={"pay_admin", "ops"},
    input=GeneratePlanInput,
    resource="plan",
)
def generate_plan(ctx: ActionContext, *, plan_params: dict[str, Any]) -> Outcome:
    """Generate an operational plan (SIRA, else the local planner); 202."""
    now = timezone.now()
    params = params_json(plan_params)
    plan = Plan.objects.create(
        plan_type=params["type"],
        status=PlanStatus.GENERATING,
        params=params,
        created_by=ctx.actor_id,
        action_id=ctx.action_id,
        # who asked: the plan's approval request is opened in their name
        details={
            "initiator": {
                "id": ctx.actor_id,
                "role": ctx.role,
                "roles": sorted(ctx.principal.roles),
                "kind": ctx.principal.kind,
            }
        },
        created_at=now,
        updated_at=now,
    )
    # the worker must find the committed row: queue only after commit
    transaction.on_commit(lambda: _queue_generation(plan.id))
    return Outcome(
        target={"plan_id": str(plan.id), "plan_type": plan.plan_type},
        resource={"plan": plan_data(plan)},
        details={"plan_id": str(plan.id), "params": params},
        status=202,
    )


# --- the worker's side ---------------------------------------------------------


def snapshot_hash(snapshot: Any) -> str:
    """SHA-256 of the snapshot's canonical JSON: equal inputs, equal hashes."""
    text = json.dumps(
        snapshot, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _from_sira(plan: dict[str, Any]) -> dict[str, Any]:
    steps = [dict(step) for step in plan["steps"]]
    count = plan.get("payout_count")
    if count is None:
        count = sum(int(s.get("count") or 0) for s in steps if _is_int(s.get("count")))
    return {
        "status": "ok" if steps else "nothing_to_improve",
        "summary": plan["summary"],
        "steps": steps,
        "total_amount": str(sira_client.amount(plan["total_amount"])),
        "payout_count": count,
        "approval_required": plan["approval_required"],
        "reason": "",
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _from_planner(result: Any) -> dict[str, Any]:
    answer = result.as_dict()
    return {
        "status": result.status,
        "summary": result.summary,
        "steps": answer["steps"],
        "total_amount": str(Decimal(result.total_amount).quantize(Decimal("0.01"))),
        "payout_count": int(result.payout_count),
        "approval_required": False,
        "reason": result.reason or "",
        "timings": answer.get("timings") or {},
        "estimate": {
            "cost_before_usd": answer.get("estimated_cost_before"),
            "cost_after_usd": answer.get("estimated_cost_after"),
            "solver": answer.get("solver") or "",
        },
    }


def build(plan_id: str) -> str:
    """The worker's job for one plan; safe to run twice (a plan no longer
    ``generating`` is left alone, and ``record_plan`` moves it out of
    ``generating`` with a conditional update)."""
    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is None or plan.status != PlanStatus.GENERATING:
        return "skipped"
    from plans.planner import PLANNER_VERSION
    from plans.planner import plan as local_plan
    from plans.planner.snapshot import build_snapshot

    started = time.perf_counter()
    timings: dict[str, int] = {}
    constraints = plan.params.get("constraints", {})
    hours = plan.params.get("timeframe_hours", 24)
    record: dict[str, Any] = {"sira": None, "fallback_reason": ""}
    snapshot: Any = None
    try:
        t = time.perf_counter()
        snapshot = build_snapshot(plan.plan_type, timeframe_hours=hours)
        timings["snapshot_ms"] = _ms(t)
        record["input_hash"] = snapshot_hash(snapshot)
        answer: Any = None
        if sira_client.configured():
            answer = _ask_sira(plan, snapshot, record, timings)
        if answer is None:
            t = time.perf_counter()
            result = local_plan(plan.plan_type, snapshot, constraints)
            timings["planner_ms"] = _ms(t)
            record.update(
                source=PlanSource.HEURISTIC,
                planner_version=PLANNER_VERSION,
                outcome=_from_planner(result),
            )
            answer = result.as_dict()
    except (OperationalError, InterfaceError):
        raise  # the database, not the plan: the task retries
    except Exception as exc:  # a bug or a broken snapshot: fail the plan, say so
        log.exception("generating plan %s failed", plan_id)
        record.update(
            source=record.get("source") or PlanSource.HEURISTIC,
            planner_version=record.get("planner_version") or "",
            input_hash=record.get("input_hash", ""),
            outcome={"status": "error", "reason": type(exc).__name__},
        )
        answer = None
    timings["total_ms"] = _ms(started)
    record["timings"] = timings
    record["plan_data"] = crypto.encrypt_json(
        {"params": plan.params, "snapshot": snapshot, "answer": answer}
    )
    try:
        runner.run(
            "record_plan",
            system_principal(SYSTEM_ACTOR),
            {"plan_id": str(plan.id), "record": _jsonable(record)},
        )
    except OpsError as exc:
        if exc.code != "plan_not_generating":
            raise
        return "skipped"  # another run recorded it first
    return "recorded"


def _ask_sira(
    plan: Plan, snapshot: Any, record: dict[str, Any], timings: dict[str, int]
) -> Any:
    t = time.perf_counter()
    try:
        answer = sira_client.request_plan(
            {
                "plan_id": str(plan.id),
                "plan_type": plan.plan_type,
                "timeframe_hours": plan.params.get("timeframe_hours", 24),
                "constraints": plan.params.get("constraints", {}),
                "input_hash": record["input_hash"],
                "snapshot": _jsonable(snapshot),
            }
        )
    except sira_client.SiraUnavailable as exc:
        timings["sira_ms"] = _ms(t)
        record["fallback_reason"] = exc.reason
        record["sira"] = {"attempts": exc.attempts, "error": exc.detail[:300]}
        return None
    timings["sira_ms"] = answer.elapsed_ms
    record.update(
        source=PlanSource.SIRA,
        planner_version=str(answer.plan.get("planner_version") or "sira")[:64],
        outcome=_from_sira(answer.plan),
        sira={"attempts": answer.attempts},
    )
    return answer.raw


# --- record_plan: the system action that writes the outcome --------------------


class RecordPlanInput(serializers.Serializer):
    target_fields = ("plan_id",)
    plan_id = serializers.UUIDField()
    record = serializers.DictField()


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
        )
        Plan.objects.filter(pk=plan_id).update(
            approval_required=True, approval_id=approval["id"]
        )
    plan.refresh_from_db()
    ctx.emit(
        "plans.plan.generated",
        {"plan_id": str(plan_id), "status": plan.status, "source": plan.source},
    )
    return Outcome(
        target={"plan_id": str(plan_id), "plan_type": plan.plan_type},
        resource={"plan": plan_data(plan, approval=approval)},
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
    """Called by the approvals app inside the deciding transaction: quorum →
    ``approved``; declined or expired → ``rejected``. Conditional on the plan
    still waiting under this approval, so a replay changes nothing."""
    waiting = Plan.objects.filter(
        pk=payload.get("plan_id"),
        approval_id=approval_id,
        status=PlanStatus.PENDING,
    )
    if status == "approved":
        waiting.update(status=PlanStatus.APPROVED, updated_at=timezone.now())
    elif status in {"declined", "expired"}:
        waiting.update(status=PlanStatus.REJECTED, updated_at=timezone.now())


def connect_approvals() -> None:
    """From ``PlansConfig.ready()``."""
    on_approval("execute_plan", on_execute_plan_approval)


# --- requeue plans whose task never ran (beat) --------------------------------------


def requeue_stuck(older_than_seconds: int = 300) -> int:
    """Queue again the plans still ``generating`` after a while (the broker
    was down at commit, or the task was lost); the task is idempotent."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        Plan.objects.filter(
            status=PlanStatus.GENERATING, created_at__lt=cutoff
        ).values_list("id", flat=True)[:100]
    )
    for plan_id in ids:
        _queue_generation(plan_id)
    return len(ids)
