"""``molam_ops_multi_sig_pending_count``: open multi-signature requests
(pending and not past ``expires_at``, whatever beat has done yet), counted in
the database at every scrape, so it is true in every process and never drifts.
If the database cannot be read the family is left out of that scrape."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from approvals.selectors import approval_pending_count

log = logging.getLogger(__name__)

PENDING_COUNT = "molam_ops_multi_sig_pending_count"


def _family(value: int | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        PENDING_COUNT,
        "Multi-signature approval requests pending and not expired.",
        value=value,
    )


class PendingApprovalsCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Declared so that registering does not run collect() (a query) at boot.
        yield _family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            count = approval_pending_count()
        except DatabaseError:
            log.warning("pending approvals gauge: database unavailable", exc_info=True)
            return
        yield _family(count)


_installed: set[int] = set()


def install(registry: CollectorRegistry = REGISTRY) -> None:
    """Register the collector once per registry (``ready()`` may run again)."""
    if id(registry) in _installed:
        return
    try:
        registry.register(PendingApprovalsCollector())
    except ValueError:
        # an earlier copy of this module (reloaded) registered it already
        log.debug("pending approvals collector already registered")
    _installed.add(id(registry))
