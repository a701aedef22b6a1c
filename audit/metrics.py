"""``molam_ops_audit_partition_headroom_ratio``: how many partitions' worth of
rows ``ops_actions_log`` can still take before a new row has nowhere to go
(PostgreSQL; audit/partitions.py). Beat keeps it at 1 or more; below that the
beat task is not running, and when it reaches 0 every ops action fails, its
audit row refused. Computed at scrape time from the catalog and the newest
``seq`` (two index probes); left out on SQLite and when the database cannot
be read."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError, connection
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from audit import partitions
from molam_ops.metrics import register_once

log = logging.getLogger(__name__)

HEADROOM = "molam_ops_audit_partition_headroom_ratio"


class PartitionHeadroomCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(HEADROOM, "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            rows = partitions.headroom(connection)
        except DatabaseError:
            log.warning("audit headroom gauge: database unavailable", exc_info=True)
            return
        if rows is None:
            return
        yield GaugeMetricFamily(
            HEADROOM,
            "Rows ops_actions_log can still take, in partitions "
            "(AUDIT_PARTITION_ROWS); beat keeps it >= 1.",
            value=rows / settings.AUDIT_PARTITION_ROWS,
        )


def install(registry: CollectorRegistry = REGISTRY) -> None:
    register_once(registry, PartitionHeadroomCollector())
