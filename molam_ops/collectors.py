"""The kernel's gauges computed at scrape time: Redis and the event outbox.

- ``molam_ops_redis_up``: 1 when Redis answers a PING within a second, 0 when
  it does not; left out when no Redis is configured (embedded mode). Asked at
  each scrape (the same check as /readyz), so it is never a stale value that
  some other request left behind. The web pods and the worker each export
  what they see.
- ``molam_ops_outbox_backlog``: events written but not yet accepted by the bus.
- ``molam_ops_outbox_oldest_unsent_age_seconds``: how long the oldest of them
  has waited (0 when none): the relay's lag. Events wait in the outbox while
  Redis is down and are relayed when it returns; this says how far behind.

The outbox gauges are read from the database (two queries on the partial
index of unsent events), exported once per scrape in multi-process mode
(``METRICS_SCRAPE_COLLECTORS``), and left out of a scrape when the database
cannot be read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from molam_ops.health import check_redis
from molam_ops.metrics import register_once
from molam_ops.models import OutboxEvent

log = logging.getLogger(__name__)

REDIS_UP = "molam_ops_redis_up"
OUTBOX_BACKLOG = "molam_ops_outbox_backlog"
OUTBOX_OLDEST = "molam_ops_outbox_oldest_unsent_age_seconds"


class RedisCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # declared, so registering does not ping Redis at boot
        yield GaugeMetricFamily(REDIS_UP, "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not settings.REDIS_URL:
            return
        error = check_redis()
        if error:
            log.warning("redis gauge: Redis unreachable (%s)", error)
        yield GaugeMetricFamily(
            REDIS_UP,
            "1 when Redis answered a PING within a second at this scrape.",
            value=0 if error else 1,
        )


def outbox_figures() -> tuple[int, float]:
    """(unsent events, age in seconds of the oldest one, 0 when none)."""
    unsent = OutboxEvent.objects.filter(sent_at__isnull=True)
    oldest = unsent.order_by("id").values_list("created_at", flat=True).first()
    if oldest is None:
        return 0, 0.0
    age = (timezone.now() - oldest).total_seconds()
    return unsent.count(), max(age, 0.0)


class OutboxCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(OUTBOX_BACKLOG, "")
        yield GaugeMetricFamily(OUTBOX_OLDEST, "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            backlog, age = outbox_figures()
        except DatabaseError:
            log.warning("outbox gauges: database unavailable", exc_info=True)
            return
        yield GaugeMetricFamily(
            OUTBOX_BACKLOG,
            "Events in the outbox not yet accepted by the event bus.",
            value=backlog,
        )
        yield GaugeMetricFamily(
            OUTBOX_OLDEST,
            "Seconds the oldest event not yet relayed has waited (0: none).",
            value=age,
        )


def install(registry: CollectorRegistry = REGISTRY) -> None:
    """The web's scrape: Redis and the outbox."""
    register_once(registry, RedisCollector())
    register_once(registry, OutboxCollector())


def install_worker(registry: CollectorRegistry) -> None:
    """The worker's scrape: Redis as the worker sees it (its broker, the
    relay's bus); the database's figures are the web's to export, once."""
    register_once(registry, RedisCollector())
