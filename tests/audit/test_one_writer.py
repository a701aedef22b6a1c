"""One writer for every state change (DESIGN §2, §3): every registered action,
every plan transition and every system task leaves its audit rows through
the audit sink, and a nested run records its own metrics."""

from __future__ import annotations

import ast
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from prometheus_client import REGISTRY

from approvals.tasks import expire_approvals
from audit.models import OpsActionLog
from controls.tasks import expire_controls
from molam_ops.actions import ports as ports_module
from molam_ops.actions import registry, runner
from molam_ops.errors import OpsError
from molam_ops.identity import Principal
from plans.choices import PlanStatus
from plans.execution import steps
from plans.models import Plan
from plans.services import suggestion_refresh
from plans.tasks import refresh_suggestions
from tests.factories import BankProfileFactory
from tests.helpers import post_action
from tests.plans.test_execute_plan_support import make_plan, pause

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("molam_ops", "audit", "controls", "payouts", "approvals", "plans", "widgets")


class Recording:
    """The installed audit sink, passed through, remembering each row's
    action type and status."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.rows: list[tuple[str, str, str]] = []

    def append(self, ctx: Any, **kw: Any) -> dict[str, Any]:
        row = self.sink.append(ctx, **kw)
        self.rows.append((ctx.action_type, kw["status"], ctx.actor_id))
        return row


@pytest.fixture
def written() -> Iterator[Recording]:
    recording = Recording(ports_module.ports.audit)
    ports_module.ports.audit = recording  # type: ignore[assignment]
    try:
        yield recording
    finally:
        ports_module.ports.audit = recording.sink


def test_only_the_audit_app_creates_rows() -> None:
    """No module outside ``audit`` builds, saves or deletes an audit row."""
    offenders = []
    for app in PRODUCT:
        if app == "audit":
            continue
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Name) and node.id == "OpsActionLog":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_only_the_idempotency_module_touches_its_table() -> None:
    offenders = []
    allowed = {ROOT / "molam_ops" / "actions" / "idempotency.py"}
    for app in PRODUCT:
        for path in (ROOT / app).rglob("*.py"):
            if path in allowed or "migrations" in path.parts:
                continue
            if path.name in ("models.py", "admin.py"):
                continue  # its definition, and the read-only admin page
            if "IdempotencyRecord" in path.read_text():
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.parametrize("spec", list(registry.all_actions()), ids=lambda s: s.name)
def test_every_registered_action_is_audited_through_the_sink(
    spec: registry.ActionSpec, written: Recording
) -> None:
    """A caller with no role is refused by every action, and the refusal is
    a row written by the sink under that action's name."""
    nobody = Principal(id=f"nobody-{uuid.uuid4().hex[:6]}", roles=frozenset())
    with pytest.raises(OpsError) as refused:
        runner.run(spec.name, nobody, {})
    assert refused.value.code == "forbidden"
    assert written.rows == [(spec.name, "rejected", nobody.id)]
    assert OpsActionLog.objects.filter(
        action_type=spec.name, actor_id=nobody.id, status="rejected"
    ).exists()


def test_every_plan_transition_is_an_audited_system_action(
    written: Recording, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    bank = BankProfileFactory()
    plan = make_plan(pause(bank))
    with django_capture_on_commit_callbacks(execute=True):
        resp = post_action(pay_admin, "execute-plan", {"plan_id": str(plan.id)})
    assert resp.status_code == 202, resp.content
    # tasks run inline in tests: the executor has run the plan
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED
    kinds = [(action, status) for action, status, _actor in written.rows]
    assert kinds == [
        ("execute_plan", "executed"),
        ("claim_plan_step", "executed"),
        ("pause_bank", "executed"),
        ("finish_plan_step", "executed"),
        ("finish_plan", "executed"),
        # the pause queued the suggestions' refresh (inline in tests), which
        # proposes resuming the healthy bank it paused
        ("update_suggestions", "executed"),
    ]
    system = {actor for _a, _s, actor in written.rows[1:-1]}
    assert system == {"plan-executor"}
    assert written.rows[-1][2] == "plans.suggestions"
    rows = OpsActionLog.objects.filter(target__plan_id=str(plan.id)).order_by("seq")
    assert [r.action_type for r in rows] == [
        "execute_plan",
        "claim_plan_step",
        "finish_plan_step",
        "finish_plan",
    ]
    assert rows.last().details["status"] == PlanStatus.EXECUTED


def test_a_failed_step_fails_its_plan_in_audited_rows(written: Recording) -> None:
    plan = make_plan(("pause_bank", {"bank_profile_id": str(uuid.uuid4())}))
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.EXECUTING)
    assert steps.run_plan(plan.id) == steps.FAILED
    kinds = [(action, status) for action, status, _actor in written.rows]
    assert ("finish_plan_step", "executed") in kinds
    row = OpsActionLog.objects.get(action_type="finish_plan_step")
    assert (row.target["plan_id"], row.details["status"]) == (str(plan.id), "failed")


def _due_control(client: Any) -> None:
    until = timezone.now() + timedelta(minutes=5)
    body = {"bank_profile_id": str(BankProfileFactory().id), "reason": "x"}
    resp = post_action(client, "pause-bank", {**body, "expires_at": until.isoformat()})
    assert resp.status_code == 200, resp.content


def _due_approval(client: Any) -> None:
    resp = post_action(client, "freeze-payouts", {"scope": "global", "reason": "x"})
    assert resp.status_code == 202, resp.content


def _failing_bank(client: Any) -> None:
    BankProfileFactory(success_rate=Decimal("0.5"))


@pytest.mark.parametrize(
    ("task", "prepare"),
    [
        (expire_controls, _due_control),
        (expire_approvals, _due_approval),
        (refresh_suggestions, _failing_bank),
    ],
    ids=["expire_controls", "expire_approvals", "refresh_suggestions"],
)
def test_system_tasks_write_through_the_sink(
    task: Any, prepare: Any, pay_admin: Any, written: Recording
) -> None:
    prepare(pay_admin)
    written.rows.clear()
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        task.apply()
    # the task's own action, as a system actor (an expired approval also
    # leaves a ``rejected`` row under the action it guarded)
    system = {"beat", suggestion_refresh.SYSTEM_ACTOR}
    assert any(
        status == "executed" and actor in system for _a, status, actor in written.rows
    ), written.rows


def test_a_nested_run_records_its_own_metrics(pay_admin: Any) -> None:
    """Accepting a suggestion runs the action it proposes inside the
    acceptance: both are counted, each under its own name."""
    BankProfileFactory(success_rate=Decimal("0.5"))
    suggestion_refresh.refresh()
    (item,) = pay_admin.get("/api/ops/suggestions").json()["results"]
    assert item["action"]["action_type"] == "pause_bank"

    def count(action: str) -> float:
        labels = {"action": action, "status": "executed"}
        return REGISTRY.get_sample_value("molam_ops_action_requests_total", labels) or 0

    before = count("accept_suggestion"), count("pause_bank")
    resp = post_action(pay_admin, f"suggestions/{item['id']}/accept", {})
    assert resp.status_code == 200, resp.content
    after = count("accept_suggestion"), count("pause_bank")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
