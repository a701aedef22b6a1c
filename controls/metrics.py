"""``molam_ops_freeze_active{scope}``, computed from the database at every
scrape, so every process and replica tells the same truth
and nothing drifts: no counter is incremented anywhere.

Samples: ``scope="global"`` is always present (1 while the global freeze is in
force, else 0); each bank that has a freeze control row has one sample under
its id, 1 while the freeze is in force and 0 once it is lifted or past
``expires_at``. Banks never frozen are left out, which bounds the series by
the banks that were ever frozen rather than by every bank, while a lifted
freeze still shows as a drop to 0 instead of a vanishing series. An alert is
``max(molam_ops_freeze_active) == 1``.

``molam_ops_bank_paused{bank, bank_name}``: 1 while a pause is in force for the
bank, else 0, one sample per bank (the banks are few); an alert on a pause
left on is ``max by (bank) (molam_ops_bank_paused) > 0`` for an hour.

If the database cannot be read, the families are left out of the scrape
(absent rather than wrong) and the rest of ``/metrics`` is still served.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.utils import timezone
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from controls.keys import FREEZE_GLOBAL
from controls.models import TreasuryControl
from controls.selectors import bank_list_with_controls
from molam_ops.metrics import register_once

log = logging.getLogger(__name__)

FREEZE_ACTIVE = "molam_ops_freeze_active"
BANK_PAUSED = "molam_ops_bank_paused"
_BANK_PREFIX = "freeze_bank_"


def _family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        FREEZE_ACTIVE,
        "1 while a payout freeze is in force for the scope (global or a bank id).",
        labels=["scope"],
    )


def freeze_samples() -> list[tuple[str, int]]:
    """(scope, 0|1) for the global freeze and every bank with a freeze row."""
    now = timezone.now()
    active = {"global": 0}
    for control in TreasuryControl.objects.filter(key__startswith="freeze_").only(
        "key", "enabled", "expires_at"
    ):
        if control.key == FREEZE_GLOBAL:
            scope = "global"
        elif control.key.startswith(_BANK_PREFIX):
            scope = control.key.removeprefix(_BANK_PREFIX)
        else:
            continue
        active[scope] = int(control.is_active(now))
    return sorted(active.items(), key=lambda s: (s[0] != "global", s[0]))


class FreezeCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Declared so that registering does not run collect() (a query) at boot.
        yield _family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            samples = freeze_samples()
        except DatabaseError:
            log.warning("freeze gauge: database unavailable", exc_info=True)
            return
        family = _family()
        for scope, value in samples:
            family.add_metric([scope], value)
        yield family


def _paused_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        BANK_PAUSED,
        "1 while the bank connector is paused, else 0.",
        labels=["bank", "bank_name"],
    )


class BankPausedCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield _paused_family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            banks = bank_list_with_controls()
        except DatabaseError:
            log.warning("bank paused gauge: database unavailable", exc_info=True)
            return
        family = _paused_family()
        for view in banks:
            family.add_metric([str(view.bank.id), view.bank.name], int(view.paused))
        yield family


def install(registry: CollectorRegistry = REGISTRY) -> None:
    """Register the collectors once per registry (``ready()`` may run again
    under autoreload or in tests; a second registration would raise)."""
    register_once(registry, FreezeCollector())
    register_once(registry, BankPausedCollector())
