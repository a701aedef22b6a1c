"""Run the payout dispatcher: ``manage.py dispatch_payouts --for-real``.

Without ``--for-real`` it is a dry run (STYLE rule 10): it shows what the
dispatcher would do — pending payouts per bank and which banks the controls
and breakers hold back — and sends nothing. The loop only runs for real.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from molam_ops.heartbeat import Heartbeat
from payouts import dispatcher, gates
from payouts.choices import CircuitState, PayoutStatus
from payouts.models import BankProfile, Payout


class Command(BaseCommand):
    help = "Send pending payouts to their banks, honouring every control."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--for-real", action="store_true", help="send; without it, a dry run"
        )
        parser.add_argument("--once", action="store_true", help="one batch, then exit")
        parser.add_argument("--batch", type=int, default=10, help="payouts per claim")
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="seconds to rest between batches (0: flat out)",
        )
        parser.add_argument(
            "--settle-after",
            type=int,
            default=None,
            help="standalone: settle sent payouts after this many seconds "
            "(default PAYOUT_SETTLE_AFTER_SECONDS; 0: never)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["batch"] < 1 or opts["interval"] < 0:
            raise CommandError("--batch must be >= 1 and --interval >= 0")
        if not opts["for_real"]:
            self._dry_run()
            return
        settle_after = opts["settle_after"]
        if settle_after is None:
            settle_after = settings.PAYOUT_SETTLE_AFTER_SECONDS
        stop = threading.Event()
        if not opts["once"]:
            # finish the payout in hand, then stop: never leave a send half-recorded
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_a: stop.set())
        self.stdout.write(
            f"dispatcher: batch {opts['batch']}, interval {opts['interval']}s, "
            f"settle after {settle_after}s"
        )
        total = dispatcher.run_loop(
            batch=opts["batch"],
            interval=opts["interval"],
            settle_after=settle_after,
            stop=stop,
            once=opts["once"],
            heartbeat=Heartbeat("dispatcher"),
        )
        self.stdout.write(f"dispatcher stopped: {total}")

    def _dry_run(self) -> None:
        blocked = gates.gate().blocked()
        pending = dict(
            Payout.objects.filter(status=PayoutStatus.PENDING, disputed=False)
            .values_list("bank_profile_id")
            .annotate(n=Count("id"))
        )
        self.stdout.write("dry run: nothing is sent (pass --for-real to dispatch)")
        if blocked.global_freeze:
            self.stdout.write("global freeze in force: nothing would be dispatched")
        for bank in BankProfile.objects.order_by("name"):
            reason = blocked.reason_for(bank.id)
            if reason is None and bank.circuit_state == CircuitState.OPEN:
                reason = "circuit_open"
            verdict = f"held ({reason})" if reason else "would dispatch"
            count = pending.get(bank.id, 0)
            self.stdout.write(f"  {bank.name}: {count} pending, {verdict}")
