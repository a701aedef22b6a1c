"""``manage.py reencrypt_plan_data [--for-real]``: re-encrypt every plan's
``plan_data`` under the first ``PLAN_DATA_KEYS`` key, in audited batches (the
``reencrypt_plan_data`` system action). Without ``--for-real`` it only says
what it would do."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from molam_ops.actions import runner
from molam_ops.identity import system_principal
from plans.services import encryption


class Command(BaseCommand):
    help = "Re-encrypt plan_data under the first PLAN_DATA_KEYS key (key rotation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--for-real", action="store_true")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, for_real: bool, batch_size: int, **kw: Any) -> None:
        survey = encryption.survey()
        self.stdout.write(
            f"{survey['current']} plan(s) under the first key, "
            f"{survey['to_rotate']} to re-encrypt, "
            f"{len(survey['unreadable'])} that no configured key opens"
        )
        if survey["unreadable"]:
            self.stderr.write("unreadable: " + ", ".join(survey["unreadable"]))
        if not for_real:
            self.stdout.write("dry run: nothing changed (add --for-real)")
            return
        principal = system_principal("manage.py reencrypt_plan_data")
        rotated, after = 0, None
        while True:
            result = runner.run(
                "reencrypt_plan_data",
                principal,
                {"after": after, "size": batch_size},
            )
            details = result.body["log"]["details"]
            rotated += details["rotated"]
            if details["last"] is None:
                break
            after = details["last"]
        self.stdout.write(f"re-encrypted {rotated} plan(s)")
        if survey["unreadable"]:
            raise CommandError(
                f"{len(survey['unreadable'])} plan(s) could not be decrypted"
            )
