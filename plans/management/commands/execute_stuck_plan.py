"""``manage.py execute_stuck_plan <plan_id> [--for-real]`` (the seed's runbook).

A plan stuck in ``executing`` (its task lost, its worker gone): each running
step whose worker is gone is settled by its idempotency key — marked done if
its effect committed, reset to pending if not — and the plan is queued again.
Without ``--for-real`` it only shows what it would do (STYLE rule 10). The real
run is the ``execute_stuck_plan`` ops action, run as a system principal through
the runner: audited, like any other change.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from molam_ops.actions import runner
from molam_ops.errors import OpsError
from molam_ops.identity import system_principal
from plans.choices import PlanStatus
from plans.execution import locks, recovery
from plans.models import Plan

ACTOR = "runbook:execute_stuck_plan"


def plan_id_arg(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise CommandError(f"not a plan id: {value!r}") from exc


class Command(BaseCommand):
    help = "Recover a plan stuck in executing and queue its remaining steps."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("plan_id", type=plan_id_arg)
        parser.add_argument(
            "--for-real", action="store_true", help="act; without it, a dry run"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        plan_id: uuid.UUID = opts["plan_id"]
        if not opts["for_real"]:
            self._dry_run(plan_id)
            return
        try:
            result = runner.run(
                "execute_stuck_plan",
                system_principal(ACTOR),
                {"plan_id": str(plan_id)},
            )
        except OpsError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        for item in result.body["log"]["details"]["steps"]:
            self.stdout.write(json.dumps(item, sort_keys=True))
        self.stdout.write(
            f"plan {plan_id} queued again (audit {result.body['log']['id']})"
        )

    def _dry_run(self, plan_id: uuid.UUID) -> None:
        plan = Plan.objects.filter(pk=plan_id).first()
        if plan is None:
            raise CommandError(f"no plan {plan_id}")
        if plan.status != PlanStatus.EXECUTING:
            raise CommandError(f"plan {plan_id} is {plan.status}, not executing")
        # read under the plan's lock when free, as the real run would
        with transaction.atomic():
            free = locks.plan_free_in_transaction(plan.id)
            review = recovery.review_stuck(plan, lock_free=free)
        if not free:
            self.stdout.write("a worker is running this plan right now")
        for item in review:
            self.stdout.write(json.dumps(item.as_dict(), sort_keys=True))
        self.stdout.write("dry run: nothing changed (add --for-real)")
