"""``manage.py rollback_failed_plan <plan_id> [--for-real] [--operator SUB]
[--reason TEXT] [--verbose]``.

The command-line path to ``POST /api/ops/rollback-plan`` (and the admin's
"Roll back"): the inverse of each done step of a failed or executed plan —
payouts moved back, funds transferred back, a bank the plan paused resumed —
each an audited action, recorded in the plan's details. Without
``--for-real`` it only shows what it would move back (STYLE rule 10).

It runs the ``rollback_plan`` action as the system
(``runbook:rollback_failed_plan``) or as ``--operator <sub>``, a pay_admin:
resuming a bank stays with people (DESIGN §4), so a rollback that must resume
one needs the operator. Above the approval thresholds the action waits for
signatures like any other (the command prints the approval's id).
The summary is per bank and currency; ``--verbose`` lists the payout ids.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from molam_ops.actions import runner
from molam_ops.errors import OpsError
from plans.choices import PlanStatus
from plans.execution import recovery
from plans.management.commands.execute_stuck_plan import (
    acting_principal,
    add_common_arguments,
)
from plans.models import Plan

ACTOR = "runbook:rollback_failed_plan"
ROLLBACKABLE = (PlanStatus.FAILED, PlanStatus.EXECUTED)


class Command(BaseCommand):
    help = "Undo the done steps of a failed or executed plan, latest first."

    def add_arguments(self, parser: CommandParser) -> None:
        add_common_arguments(
            parser, operator_help="the pay_admin (token sub) who resumes banks"
        )
        parser.add_argument(
            "--reason", default="manage.py rollback_failed_plan", help="why"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        plan = Plan.objects.filter(pk=opts["plan_id"]).first()
        if plan is None:
            raise CommandError(f"no plan {opts['plan_id']}")
        if plan.status not in ROLLBACKABLE:
            raise CommandError(f"plan {plan.id} is {plan.status}, not failed")
        if not opts["for_real"]:
            inverses = recovery.inverse_steps(
                plan, undone=recovery.undone_indexes(plan)
            )
            self._write(recovery.rollback_lines(inverses), opts["verbose"])
            self.stdout.write(
                f"{len(inverses)} steps to undo; dry run: nothing changed "
                "(add --for-real)"
            )
            return
        try:
            result = runner.run(
                "rollback_plan",
                acting_principal(opts["operator"], ACTOR),
                {"plan_id": str(plan.id), "reason": opts["reason"]},
            )
        except OpsError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if result.status == 202:
            approval = result.body["approval"]
            self.stdout.write(
                f"waiting for {approval['required_approvals']} signatures "
                f"on approval {approval['id']}"
            )
            return
        plan.refresh_from_db()
        self._write(recovery.rolled_back_lines(plan), opts["verbose"])
        details = result.body["log"]["details"]
        for entry in details["steps"]:
            if entry["status"] not in ("done", "noop"):
                self.stdout.write(
                    f"step {entry['of_index']} ({entry['action']}): "
                    f"{entry['status']} {entry.get('code', '')}".rstrip()
                )
        if not details["complete"]:
            raise CommandError("rollback incomplete; fix the cause and run it again")
        self.stdout.write(f"plan {plan.id} rolled back")

    def _write(self, lines: list[recovery.Line], verbose: bool) -> None:
        for text in recovery.render(lines, back=True, verbose=verbose):
            self.stdout.write(text)
