"""The audit checkpoints' metrics (DESIGN §3):

- ``molam_ops_audit_consistency_failures_total``: checkpoints beat refused
  to sign because the log no longer matches what was signed (a row that
  does not link, a root or a signature that does not match, an inconsistent
  proof). Counted by the worker that runs beat's task; exported at 0 from
  the first scrape.
- ``molam_ops_audit_unsigned_age_seconds``: how long the oldest row no
  checkpoint covers has waited (0 when every row is signed). Read from the
  database at each scrape by the web (two indexed lookups).
- ``molam_ops_audit_partition_headroom_ratio``: how many partitions' worth of
  rows ``ops_actions_log`` can still take before a new row has nowhere to go
  (PostgreSQL; audit/partitions.py). Beat keeps it at 1 or more; below that
  its task is not running, and at 0 every ops action fails, its audit row
  refused. Read from the catalog and the newest ``seq`` at each scrape; left
  out on SQLite.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from audit import partitions
from audit.models import AuditCheckpoint, OpsActionLog
from molam_ops.metrics import register_once

log = logging.getLogger(__name__)

CONSISTENCY_FAILURES = Counter(
    "molam_ops_audit_consistency_failures_total",
    "Audit checkpoints refused: the log does not match what was signed.",
)
UNSIGNED_AGE = "molam_ops_audit_unsigned_age_seconds"
HEADROOM = "molam_ops_audit_partition_headroom_ratio"


def unsigned_age() -> float:
    signed = (
        AuditCheckpoint.objects.order_by("-tree_size")
        .values_list("tree_size", flat=True)
        .first()
    ) or 0
    oldest = (
        OpsActionLog.objects.filter(seq=signed + 1)
        .values_list("created_at", flat=True)
        .first()
    )
    if oldest is None:
        return 0.0
    return max((timezone.now() - oldest).total_seconds(), 0.0)


class CheckpointCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(UNSIGNED_AGE, "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            age = unsigned_age()
        except DatabaseError:
            log.warning("audit checkpoint gauge: database unavailable", exc_info=True)
            return
        yield GaugeMetricFamily(
            UNSIGNED_AGE,
            "Seconds the oldest audit row no checkpoint covers has waited (0: none).",
            value=age,
        )


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
    register_once(registry, CheckpointCollector())
    register_once(registry, PartitionHeadroomCollector())
