"""Leases (DESIGN §8): a running step, and a plan being generated, hold a
lease their worker renews; beat takes up the work of a lease that ran out —
once, through the audited ``execute_stuck_plan`` — and a message delivered
again re-runs nothing finished."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from audit.models import OpsActionLog
from plans.choices import PlanStatus, StepStatus
from plans.execution import leases, locks, progress, steps, takeup
from plans.execution_tasks import execute_plan_steps, take_up_orphaned_steps
from plans.models import Plan, PlanStep
from plans.services import generation
from tests.helpers import post_action
from tests.plans.plan_helpers import ROUTING, rails
from tests.plans.test_execute_plan_support import (
    account_balances,
    died_running,
    effect_committed,
    execute,
    executed_rows,
    make_plan,
    reservation_left,
    steps_of,
    transfer,
)

# not module-wide: the thread's test uses tx_db, whose trigger handling must
# wrap the flush that a django_db mark would set up first
db = pytest.mark.django_db


def take_ups() -> list[OpsActionLog]:
    return list(
        OpsActionLog.objects.filter(action_type="execute_stuck_plan").order_by("id")
    )


# --- beat takes up a step whose worker died -------------------------------------------


@db
def test_beat_marks_done_a_dead_workers_step_whose_effect_committed(
    accounts: Any, on_commit: Any
) -> None:
    a, b = accounts
    plan = make_plan(
        transfer(a, b, "100.00"), transfer(a, b, "1.00"), status=PlanStatus.EXECUTING
    )
    died_running(plan, 0)
    effect_committed(plan, 0)  # the money moved; the row still says running

    with on_commit():  # the plan queued again runs at once (eager)
        assert take_up_orphaned_steps() == 1

    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED
    assert account_balances(a, b) == [Decimal("899.00"), Decimal("101.00")]
    assert len(executed_rows(plan, 0)) == 1  # not moved twice
    assert PlanStep.objects.get(plan=plan, index=0).attempts == 1  # marked, not rerun
    [row] = take_ups()
    assert (row.actor_id, row.status) == (takeup.ACTOR, "executed")
    assert row.details["steps"][0]["decision"] == "mark_done"
    # beat's next sweep finds nothing: the plan is taken up once
    assert take_up_orphaned_steps() == 0
    assert len(take_ups()) == 1


@db
def test_beat_reruns_once_a_dead_workers_step_whose_effect_rolled_back(
    accounts: Any, on_commit: Any
) -> None:
    a, b = accounts
    plan = make_plan(transfer(a, b, "100.00"), status=PlanStatus.EXECUTING)
    died_running(plan, 0)
    reservation_left(plan, 0)  # killed inside the effect's transaction

    with on_commit():
        assert take_up_orphaned_steps() == 1

    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.EXECUTED
    assert account_balances(a, b) == [Decimal("900.00"), Decimal("100.00")]
    assert len(executed_rows(plan, 0)) == 1
    assert take_ups()[0].details["steps"][0]["decision"] == "reset"


@db
def test_beat_leaves_a_step_whose_lease_is_live(accounts: Any, settings: Any) -> None:
    a, b = accounts
    plan = make_plan(transfer(a, b, "100.00"), status=PlanStatus.EXECUTING)
    step = PlanStep.objects.get(plan=plan, index=0)
    progress.claim(step, recovering=False)

    assert take_up_orphaned_steps() == 0

    assert steps_of(plan) == ["running"]
    assert take_ups() == []
    # once its lease has run out unrenewed it is taken up
    later = timezone.now() + timedelta(seconds=settings.PLAN_LEASE_SECONDS + 1)
    with time_machine.travel(later):
        assert takeup.expired_plans() == [plan.id]


@db
@pytest.mark.postgres
def test_beat_leaves_a_plan_a_live_worker_holds_even_past_its_lease(
    accounts: Any,
) -> None:
    a, b = accounts
    plan = make_plan(transfer(a, b, "100.00"), status=PlanStatus.EXECUTING)
    died_running(plan, 0)  # the lease ran out: the worker was late renewing
    db = connection.settings_dict
    dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} "
    dsn += f"user={db['USER']} dbname={db['NAME']}"
    with psycopg.connect(dsn, autocommit=True) as worker:  # ...but it is alive
        worker.execute(
            "SELECT pg_advisory_lock(%s::int4, %s::int4)",
            [locks.LOCK_CLASS, locks._object_id(plan.id)],
        )
        assert takeup.expired_plans() == [plan.id]
        assert take_up_orphaned_steps() == 0
    assert steps_of(plan) == ["running"]
    assert take_ups() == []  # not even a refusal in the audit log


@db
def test_the_take_up_action_refuses_a_plan_with_nothing_left_by_a_dead_worker(
    accounts: Any,
) -> None:
    from molam_ops.actions import runner
    from molam_ops.errors import OpsError
    from molam_ops.identity import system_principal

    a, b = accounts
    plan = make_plan(transfer(a, b, "100.00"), status=PlanStatus.EXECUTING)
    body = {"plan_id": str(plan.id), "orphaned_only": True}
    with pytest.raises(OpsError) as caught:
        runner.run("execute_stuck_plan", system_principal(takeup.ACTOR), body)
    assert caught.value.code == "plan_not_stuck"
    assert steps_of(plan) == ["pending"]


# --- the lease itself -----------------------------------------------------------------


@db
def test_a_claimed_step_holds_a_lease_and_a_finished_one_none(
    accounts: Any, settings: Any
) -> None:
    a, b = accounts
    plan = make_plan(transfer(a, b, "1.00"), status=PlanStatus.EXECUTING)
    step = PlanStep.objects.get(plan=plan, index=0)
    before = timezone.now()
    claimed = progress.claim(step, recovering=False)
    assert claimed is not None and claimed.lease_expires_at is not None
    lease = timedelta(seconds=settings.PLAN_LEASE_SECONDS)
    assert before + lease <= claimed.lease_expires_at <= timezone.now() + lease
    assert progress.finish(claimed, StepStatus.DONE, result={})
    assert PlanStep.objects.get(pk=step.pk).lease_expires_at is None
    # a renewal of the finished attempt changes nothing
    assert not leases.renew_step(step.pk, claimed.attempts)


def test_the_workers_thread_renews_the_lease_while_the_step_runs(
    tx_db: None, settings: Any
) -> None:
    from tests.factories import TreasuryAccountFactory

    settings.PLAN_LEASE_SECONDS = 0.3  # renewed every 0.1 s
    a = TreasuryAccountFactory(currency="USD", balance=Decimal("10.00"))
    b = TreasuryAccountFactory(currency="USD", balance=Decimal("0.00"))
    plan = make_plan(transfer(a, b, "1.00"), status=PlanStatus.EXECUTING)
    step = progress.claim(PlanStep.objects.get(plan=plan, index=0), recovering=False)
    assert step is not None and step.lease_expires_at is not None
    first = step.lease_expires_at

    def lease() -> Any:
        return PlanStep.objects.get(pk=step.pk).lease_expires_at

    with leases.renewing(lambda: leases.renew_step(step.pk, step.attempts), "test"):
        deadline = time.monotonic() + 10
        while lease() <= first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lease() > first  # pushed forward by the thread
    renewed = lease()
    time.sleep(0.3)
    assert lease() == renewed  # the block is over: no more renewals


# --- a message delivered again --------------------------------------------------------


@db
def test_a_redelivered_message_for_a_finished_plan_does_nothing(
    accounts: Any, pay_admin: Any, on_commit: Any
) -> None:
    a, b = accounts
    plan = make_plan(transfer(a, b, "100.00"), transfer(a, b, "1.00"))
    with on_commit():
        assert execute(pay_admin, plan).status_code == 202
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.EXECUTED
    rows = OpsActionLog.objects.count()

    # the broker hands the same message out again (its worker died before the ack)
    assert execute_plan_steps.apply(args=[str(plan.id)]).get() == steps.STOPPED

    assert account_balances(a, b) == [Decimal("899.00"), Decimal("101.00")]
    assert OpsActionLog.objects.count() == rows  # no effect, no audit row
    assert [len(executed_rows(plan, i)) for i in (0, 1)] == [1, 1]


@db
def test_a_redelivered_message_skips_the_steps_already_done(accounts: Any) -> None:
    a, b = accounts
    plan = make_plan(
        transfer(a, b, "100.00"), transfer(a, b, "1.00"), status=PlanStatus.EXECUTING
    )
    # the first delivery ran step 0 to the end, then its worker died
    first = progress.claim(PlanStep.objects.get(plan=plan, index=0), recovering=False)
    assert first is not None
    effect_committed(plan, 0)
    assert progress.finish(first, StepStatus.DONE, result={})

    assert execute_plan_steps.apply(args=[str(plan.id)]).get() == steps.EXECUTED

    assert account_balances(a, b) == [Decimal("899.00"), Decimal("101.00")]
    assert [len(executed_rows(plan, i)) for i in (0, 1)] == [1, 1]
    assert PlanStep.objects.get(plan=plan, index=0).attempts == 1


@db
def test_a_task_past_its_budget_claims_no_more_steps(accounts: Any) -> None:
    a, b = accounts
    plan = make_plan(transfer(a, b, "1.00"), status=PlanStatus.EXECUTING)
    assert steps.run_plan(plan.id, deadline=time.monotonic() - 1) == steps.CONTINUE
    assert steps_of(plan) == ["pending"]


# --- generation -----------------------------------------------------------------------


def _generating(pay_admin: Any, capture: Any) -> Plan:
    rails()
    with capture(execute=False):  # the task is not run: a worker took it
        resp = post_action(pay_admin, "generate-plan", ROUTING)
    return Plan.objects.get(pk=resp.json()["plan"]["id"])


@db
def test_a_generation_a_live_worker_holds_is_not_built_twice(
    pay_admin: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    plan = _generating(pay_admin, django_capture_on_commit_callbacks)
    assert leases.claim_generation(plan.id)  # the first worker
    assert not leases.claim_generation(plan.id)  # no second while it lives

    assert generation.build(str(plan.id)) == "skipped"  # a second message
    assert generation.requeue_stuck() == 0
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.GENERATING

    # its worker died: the lease runs out, beat queues it (eager: built now)
    later = timezone.now() + timedelta(seconds=settings.PLAN_LEASE_SECONDS + 1)
    with time_machine.travel(later):
        assert generation.requeue_stuck() == 1
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.PENDING
    assert generation.requeue_stuck() == 0
    assert generation.build(str(plan.id)) == "skipped"


@db
def test_a_generation_whose_task_never_ran_is_queued_after_one_lease(
    pay_admin: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    plan = _generating(pay_admin, django_capture_on_commit_callbacks)
    assert generation.requeue_stuck() == 0  # its task may be on its way
    later = timezone.now() + timedelta(seconds=settings.PLAN_LEASE_SECONDS + 1)
    with time_machine.travel(later):
        assert generation.requeue_stuck() == 1
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.PENDING


@db
def test_beat_queues_a_plan_whose_worker_died_between_two_steps(
    accounts: Any, on_commit: Any, settings: Any
) -> None:
    a, b = accounts
    plan = make_plan(
        transfer(a, b, "100.00"), transfer(a, b, "1.00"), status=PlanStatus.EXECUTING
    )
    first = progress.claim(PlanStep.objects.get(plan=plan, index=0), recovering=False)
    assert first is not None
    effect_committed(plan, 0)
    assert progress.finish(first, StepStatus.DONE, result={})  # ...then it died
    assert take_up_orphaned_steps() == 0  # it may be claiming step 1 right now

    later = timezone.now() + timedelta(seconds=settings.PLAN_LEASE_SECONDS + 1)
    with time_machine.travel(later), on_commit():
        assert take_up_orphaned_steps() == 1  # idle for a lease: queued (eager)

    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.EXECUTED
    assert [len(executed_rows(plan, i)) for i in (0, 1)] == [1, 1]
    assert take_ups() == []  # nothing to settle, so no runbook action
