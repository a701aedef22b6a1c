"""``manage.py rollback_failed_plan <plan_id> [--for-real] [--operator SUB]``.

The seed's runbook "roll back failed plan": the inverse of each done step of a
failed plan — payouts moved back, funds transferred back, a bank the plan
paused resumed — each through the runner as its own audited action, then what
was undone recorded in the plan's details (``record_plan_rollback``). Without
``--for-real`` it only lists the inverse steps (STYLE rule 10).

Resuming a bank stays with people (DESIGN §4; the system may pause, never
resume), so a rollback that must resume one needs ``--operator <sub>``: the
pay_admin on whose behalf the command resumes it, recorded as the actor.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from molam_ops.errors import OpsError
from molam_ops.identity import Principal, system_principal
from plans.choices import PlanStatus
from plans.execution import recovery
from plans.management.commands.execute_stuck_plan import plan_id_arg
from plans.models import Plan
from plans.services import execution

ACTOR = "runbook:rollback_failed_plan"


class Command(BaseCommand):
    help = "Undo the done steps of a failed plan, latest first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("plan_id", type=plan_id_arg)
        parser.add_argument(
            "--for-real", action="store_true", help="act; without it, a dry run"
        )
        parser.add_argument(
            "--operator",
            default="",
            help="the pay_admin (token sub) who resumes banks the plan paused",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        plan = Plan.objects.filter(pk=opts["plan_id"]).first()
        if plan is None:
            raise CommandError(f"no plan {opts['plan_id']}")
        if plan.status != PlanStatus.FAILED:
            raise CommandError(f"plan {plan.id} is {plan.status}, not failed")
        if not opts["for_real"]:
            for inverse in recovery.inverse_steps(plan):
                self.stdout.write(json.dumps(inverse.as_dict(), sort_keys=True))
            self.stdout.write("dry run: nothing changed (add --for-real)")
            return
        operator = (
            Principal(
                id=opts["operator"], roles=frozenset({"pay_admin"}), kind="session"
            )
            if opts["operator"]
            else None
        )
        try:
            result = execution.rollback_failed_plan(
                plan.id, principal=system_principal(ACTOR), operator=operator
            )
        except OpsError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        for entry in result["steps"]:
            self.stdout.write(json.dumps(entry, sort_keys=True, default=str))
        if not result["complete"]:
            raise CommandError("rollback incomplete; fix the cause and run it again")
        self.stdout.write(f"plan {plan.id} rolled back")
