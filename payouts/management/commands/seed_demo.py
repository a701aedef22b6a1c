"""Seed the demo: operators for each role, banks, accounts, payouts (once).

Development only: the operators are staff users whose password is published
(``molam_ops.demo.DEMO_PASSWORD``, printed by ``make run``). With ``DEBUG``
off the command refuses before it touches anything.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from molam_ops.demo import ensure_demo_operators
from payouts.demo import seed


class Command(BaseCommand):
    help = "Create demo operators and rails; a second run adds nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--payouts", type=int, default=3000)

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo refuses to run with DEBUG off: it creates staff users "
                "with the published demo password (set DEBUG=1 for a demo)"
            )
        users = ensure_demo_operators()
        counts = seed(payouts=opts["payouts"])
        if not users and not any(counts.values()):
            self.stdout.write("demo data already present; nothing added")
            return
        self.stdout.write(
            f"seeded {len(users)} operators, {counts['banks']} banks, "
            f"{counts['accounts']} treasury accounts, {counts['payouts']} payouts"
        )
