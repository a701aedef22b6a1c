"""``manage.py execute_stuck_plan <plan_id> [--for-real] [--operator SUB] [--verbose]``.

The command-line path to ``POST /api/ops/resume-plan`` (and the admin's
"Resume"): a plan stuck in ``executing`` (its task lost, its worker gone) has
each running step whose worker is gone settled by its idempotency key — marked
done if its effect committed, reset to pending if not — and is queued again.
Without ``--for-real`` it only shows what it would do (STYLE rule 10). The real
run is the ``resume_plan`` ops action, run through the runner as the system
(``runbook:execute_stuck_plan``) or as the named operator: audited, like any
other change. It prints a summary per bank and currency.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from molam_ops.actions import runner
from molam_ops.errors import OpsError
from molam_ops.identity import Principal, system_principal
from plans.choices import PlanStatus
from plans.execution import locks, recovery
from plans.models import Plan

ACTOR = "runbook:execute_stuck_plan"


def plan_id_arg(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise CommandError(f"not a plan id: {value!r}") from exc


def add_common_arguments(parser: CommandParser, *, operator_help: str) -> None:
    parser.add_argument("plan_id", type=plan_id_arg)
    parser.add_argument(
        "--for-real", action="store_true", help="act; without it, a dry run"
    )
    parser.add_argument("--operator", default="", help=operator_help)
    parser.add_argument(
        "--verbose", action="store_true", help="list every step and payout id"
    )


def acting_principal(operator: str, actor: str) -> Principal:
    """The named operator (a pay_admin, by token subject), or the system."""
    if operator:
        return Principal(id=operator, roles=frozenset({"pay_admin"}), kind="session")
    return system_principal(actor)


class Command(BaseCommand):
    help = "Resume a plan stuck in executing and queue its remaining steps."

    def add_arguments(self, parser: CommandParser) -> None:
        add_common_arguments(
            parser, operator_help="act as this pay_admin (token sub), not the system"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        plan_id: uuid.UUID = opts["plan_id"]
        if not opts["for_real"]:
            self._dry_run(plan_id, verbose=opts["verbose"])
            return
        try:
            result = runner.run(
                "resume_plan",
                acting_principal(opts["operator"], ACTOR),
                {"plan_id": str(plan_id), "reason": "manage.py execute_stuck_plan"},
            )
        except OpsError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        details = result.body["log"]["details"]
        self._report(
            details["steps"],
            [recovery.Line.from_dict(d) for d in details["lines"]],
            verbose=opts["verbose"],
        )
        self.stdout.write(
            f"plan {plan_id} queued again (audit {result.body['log']['id']})"
        )

    def _report(
        self, steps: list[dict[str, Any]], lines: list[recovery.Line], *, verbose: bool
    ) -> None:
        decisions: dict[str, int] = {}
        for item in steps:
            decisions[item["decision"]] = decisions.get(item["decision"], 0) + 1
        counts = ", ".join(f"{n} {d}" for d, n in sorted(decisions.items()))
        self.stdout.write(f"{len(steps)} unfinished steps ({counts or 'none'})")
        for text in recovery.render(lines, back=False):
            self.stdout.write(text)
        if verbose:
            for item in steps:
                self.stdout.write("    step " + json.dumps(item, sort_keys=True))

    def _dry_run(self, plan_id: uuid.UUID, *, verbose: bool) -> None:
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
        self._report(
            [item.as_dict() for item in review],
            recovery.resume_lines(plan, review),
            verbose=verbose,
        )
        self.stdout.write("dry run: nothing changed (add --for-real)")
