"""Plan generation (DESIGN §8): ``generate_plan`` answers 202 with the plan in
``generating``; after commit a worker (``plans.tasks.generate_plan_task``)
builds the input snapshot, asks SIRA or falls back to the local planner, and
writes the outcome with the system action ``record_plan``
(``plans.services.plan_records``). ``plan_params`` is described in
``plans.services.plan_inputs``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
import uuid
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from molam_ops.actions import runner
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.errors import OpsError
from molam_ops.identity import system_principal
from plans import crypto, sira_client
from plans.choices import PlanSource, PlanStatus
from plans.execution import leases
from plans.models import Plan
from plans.serializers import PlanSerializer
from plans.services import preview
from plans.services.plan_inputs import GeneratePlanInput

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "plans.generation"


# what a plan may be given beyond type, timeframe and constraints; kept only
# when given, so a plan's params read as the request did
OPTIONAL_PARAMS = ("currencies", "banks", "override")


def params_json(plan_params: dict[str, Any]) -> dict[str, Any]:
    """What the plan keeps of its request: decimals as strings."""
    return {
        "type": plan_params["type"],
        "timeframe_hours": plan_params["timeframe"],
        "constraints": dict(plan_params.get("constraints") or {}),
        **{k: plan_params[k] for k in OPTIONAL_PARAMS if plan_params.get(k)},
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
        resource={"plan": PlanSerializer(plan).data},
        details={
            "plan_id": str(plan.id),
            "params": params,
            # an override lifts the safety rule: say so where auditors look
            **({"override": params["override"]} if "override" in params else {}),
        },
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


def _scoped(snapshot: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The snapshot limited to the plan's scope, before anyone plans on it:
    SIRA and the local planner see (and the input hash names) only what the
    plan may touch."""
    currencies, banks = params.get("currencies"), params.get("banks")
    if not currencies and not banks:
        return snapshot
    from plans.planner.safety import scoped
    from plans.planner.types import Snapshot

    return scoped(Snapshot.from_dict(snapshot), currencies, banks).as_dict()


def _stated(params: dict[str, Any]) -> dict[str, Any]:
    """What a SIRA plan was asked to respect, as the local planner states it."""
    from plans.planner.types import Constraints

    stated: dict[str, Any] = {
        "constraints_used": Constraints.from_params(params.get("constraints")).used()
    }
    if params.get("override"):
        stated["override"] = params["override"]
    if params.get("currencies") or params.get("banks"):
        stated["scope"] = {
            "currencies": params.get("currencies"),
            "banks": params.get("banks"),
        }
    return stated


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# what the local planner's answer adds to the plan's own ``details``
PLANNER_DETAILS = ("constraints_used", "unmet", "override", "scope")


def _from_planner(result: Any) -> dict[str, Any]:
    answer = result.as_dict()
    details = answer.get("details") or {}
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
        "plan_details": {k: details[k] for k in PLANNER_DETAILS if k in details},
    }


def build(plan_id: str) -> str:
    """The worker's job for one plan; safe to run twice: a plan no longer
    ``generating``, or whose generation a live worker holds (its lease,
    plans/execution/leases.py), is left alone, and ``record_plan`` moves it
    out of ``generating`` with a conditional update."""
    if not leases.claim_generation(plan_id):
        return "skipped"
    renew = partial(leases.renew_generation, plan_id)
    try:
        with leases.renewing(renew, f"generation of plan {plan_id}"):
            return _build(plan_id)
    except (OperationalError, InterfaceError):
        # the task retries: its next attempt must find the generation free
        with contextlib.suppress(OperationalError, InterfaceError):
            leases.release_generation(plan_id)
        raise


def _build(plan_id: str) -> str:
    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is None or plan.status != PlanStatus.GENERATING:
        return "skipped"
    from plans.planner.planning import PLANNER_VERSION
    from plans.planner.planning import plan as local_plan
    from plans.planner.snapshot import build_snapshot

    started = time.perf_counter()
    timings: dict[str, int] = {}
    constraints = plan.params.get("constraints", {})
    hours = plan.params.get("timeframe_hours", 24)
    record: dict[str, Any] = {"sira": None, "fallback_reason": ""}
    snapshot: Any = None
    try:
        t = time.perf_counter()
        snapshot = _scoped(
            build_snapshot(plan.plan_type, timeframe_hours=hours), plan.params
        )
        timings["snapshot_ms"] = _ms(t)
        record["input_hash"] = snapshot_hash(snapshot)
        answer: Any = None
        if sira_client.configured():
            answer = _ask_sira(plan, snapshot, record, timings)
        if answer is None:
            t = time.perf_counter()
            result = local_plan(
                plan.plan_type,
                snapshot,
                constraints,
                override=plan.params.get("override"),
                currencies=plan.params.get("currencies"),
                banks=plan.params.get("banks"),
            )
            timings["planner_ms"] = _ms(t)
            record.update(
                source=PlanSource.HEURISTIC,
                planner_version=PLANNER_VERSION,
                outcome=_from_planner(result),
            )
            answer = result.as_dict()
        # what the plan changes, before anyone signs (plans/services/preview.py)
        t = time.perf_counter()
        record["details"] = preview.build(plan, snapshot, record["outcome"])
        timings["preview_ms"] = _ms(t)
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
            },
            # an operator's override holds for SIRA's steps as for the planner's
            allow_banks=(plan.params.get("override") or {}).get("allow_banks") or (),
            # and so does the scope: the snapshot limits the banks and
            # accounts SIRA can name, not the currency of a reroute
            currencies=plan.params.get("currencies") or None,
        )
    except sira_client.SiraUnavailable as exc:
        timings["sira_ms"] = _ms(t)
        record["fallback_reason"] = exc.reason
        record["sira"] = {"attempts": exc.attempts, "error": exc.detail[:300]}
        if exc.step is not None:  # the step that made the answer unusable
            record["sira"]["refused_step"] = exc.step
        return None
    timings["sira_ms"] = answer.elapsed_ms
    record.update(
        source=PlanSource.SIRA,
        planner_version=str(answer.plan.get("planner_version") or "sira")[:64],
        outcome={**_from_sira(answer.plan), "plan_details": _stated(plan.params)},
        sira={"attempts": answer.attempts},
    )
    return answer.raw


# --- requeue plans whose worker died or whose task never ran (beat) ------------


def requeue_stuck() -> int:
    """Queue again the plans still ``generating`` whose worker died (their
    lease ran out) or whose task never ran (the broker was down at commit).
    A message that finds the generation taken or done does nothing."""
    ids = list(
        Plan.objects.filter(leases.orphaned_generations())
        .order_by("created_at")
        .values_list("id", flat=True)[:100]
    )
    for plan_id in ids:
        _queue_generation(plan_id)
    return len(ids)
