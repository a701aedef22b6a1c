"""The rails' gauges, read from the database at every scrape (exported once in
multi-process mode, left out of a scrape when the database cannot be read):

- ``molam_ops_bank_circuit_open{bank, bank_name}``: 1 while the bank's breaker
  is not closed (open, or half-open and probing with one trial payout), 0
  when it is closed; one sample per bank.
- ``molam_ops_dispatch_backlog``: pending payouts the dispatcher may send now
  (not disputed; no freeze, pause or breaker holding their bank back).
- ``molam_ops_dispatch_oldest_wait_seconds``: how long the oldest of them has
  been waiting since it became pending (0: none). A dispatcher that runs
  claims the oldest first, so this only grows when no dispatcher is moving
  the queue, or when they cannot keep up with it.

Payouts held back by a control or a breaker are left out of both: waiting is
what they should do.

- ``molam_ops_treasury_accounts_missing{currency}``: banks that serve the
  currency but hold no treasury account in it. Their settled payouts debit no
  balance (``payouts.treasury``, which also counts each one in
  ``molam_ops_settlement_unbooked_total`` where the settling process is
  scraped; the dispatcher's pod is not, this gauge is read by the web's).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from molam_ops.metrics import register_once
from payouts import gates
from payouts.choices import CircuitState, PayoutStatus
from payouts.models import BankProfile, Payout, TreasuryAccount

log = logging.getLogger(__name__)

CIRCUIT_OPEN = "molam_ops_bank_circuit_open"
DISPATCH_BACKLOG = "molam_ops_dispatch_backlog"
DISPATCH_OLDEST = "molam_ops_dispatch_oldest_wait_seconds"
ACCOUNTS_MISSING = "molam_ops_treasury_accounts_missing"


def _circuit_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        CIRCUIT_OPEN,
        "1 while the bank's circuit breaker is open or half-open, else 0.",
        labels=["bank", "bank_name"],
    )


def dispatch_figures() -> tuple[list[tuple[str, str, int]], int, float]:
    """([(bank id, name, breaker not closed 0|1)], dispatchable payouts, age
    in seconds of the oldest one)."""
    banks = list(
        BankProfile.objects.order_by("name").values_list("id", "name", "circuit_state")
    )
    circuits = [
        (str(pk), name, int(state != CircuitState.CLOSED)) for pk, name, state in banks
    ]
    blocked = gates.gate().blocked()
    if blocked.global_freeze:
        return circuits, 0, 0.0
    held = set(blocked.banks) | {pk for pk, _n, s in banks if s != CircuitState.CLOSED}
    waiting = (
        Payout.objects.filter(status=PayoutStatus.PENDING, disputed=False)
        .exclude(bank_profile_id__in=held)
        .aggregate(count=Count("id"), oldest=Min("updated_at"))
    )
    if not waiting["count"]:
        return circuits, 0, 0.0
    age = (timezone.now() - waiting["oldest"]).total_seconds()
    return circuits, waiting["count"], max(age, 0.0)


def missing_accounts() -> dict[str, int]:
    """currency → banks serving it with no treasury account in it (0 listed)."""
    held = set(TreasuryAccount.objects.values_list("bank_profile_id", "currency"))
    missing: dict[str, int] = {}
    for pk, currencies in BankProfile.objects.values_list("id", "currencies"):
        for currency in currencies or ():
            missing[currency] = missing.get(currency, 0) + ((pk, currency) not in held)
    return missing


def _missing_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        ACCOUNTS_MISSING,
        "Banks serving the currency with no treasury account in it: their"
        " settled payouts debit no balance.",
        labels=["currency"],
    )


class RailsCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # declared, so registering does not query at boot
        yield _circuit_family()
        yield GaugeMetricFamily(DISPATCH_BACKLOG, "")
        yield GaugeMetricFamily(DISPATCH_OLDEST, "")
        yield _missing_family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            circuits, backlog, age = dispatch_figures()
            missing = missing_accounts()
        except (DatabaseError, gates.GateNotInstalled):
            log.warning("rails gauges: cannot be read", exc_info=True)
            return
        family = _circuit_family()
        for bank, name, value in circuits:
            family.add_metric([bank, name], value)
        yield family
        yield GaugeMetricFamily(
            DISPATCH_BACKLOG,
            "Pending payouts that no control or breaker holds back.",
            value=backlog,
        )
        yield GaugeMetricFamily(
            DISPATCH_OLDEST,
            "Seconds the oldest of them has waited since it became pending.",
            value=age,
        )
        accounts = _missing_family()
        for currency, count in sorted(missing.items()):
            accounts.add_metric([currency], count)
        yield accounts


def install(registry: CollectorRegistry = REGISTRY) -> None:
    register_once(registry, RailsCollector())
