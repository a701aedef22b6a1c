"""The event outbox: events are written with the effect, relayed after commit.

The relay publishes in ``id`` order and marks rows sent only after the bus
accepted them, so delivery is at least once and in order; one relay runs at a
time (a PostgreSQL advisory lock; SQLite's IMMEDIATE transactions serialize it).
Consumers de-duplicate on ``event_id``.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any, Protocol

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from molam_ops.lib import rawsql
from molam_ops.models import OutboxEvent
from molam_ops.outages import queue_failed, queue_task, redis_outage

log = logging.getLogger(__name__)
RELAY_LOCK_ID = 0x6F7574626F78  # "outbox"
BATCH = 500
PURGE_BATCH = 5000


def add(topic: str, payload: dict[str, Any], *, action_id: uuid.UUID | None) -> None:
    """Queue an event; call inside the transaction that makes it true."""
    rawsql.insert(
        OutboxEvent(
            topic=topic,
            action_id=action_id,
            payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
            created_at=timezone.now(),
        )
    )


class Bus(Protocol):
    def publish(self, events: list[OutboxEvent]) -> None: ...


class RedisStreamBus:
    """``XADD`` to the ``molam.ops.events`` stream, one pipeline per batch."""

    def __init__(self, url: str, stream: str) -> None:
        import redis

        # bounded: a Redis that does not answer fails the relay (retried at
        # beat's next tick) instead of holding its lock for ever
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=5, socket_timeout=5
        )
        self.stream = stream

    def publish(self, events: list[OutboxEvent]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for ev in events:
            pipe.xadd(
                self.stream,
                {
                    "event_id": str(ev.event_id),
                    "topic": ev.topic,
                    "action_id": str(ev.action_id or ""),
                    "payload": json.dumps(ev.payload, sort_keys=True),
                    "created_at": ev.created_at.isoformat(),
                },
            )
        pipe.execute()


class LogBus:
    """Embedded mode has no bus: events are logged and kept in the outbox."""

    def publish(self, events: list[OutboxEvent]) -> None:
        for ev in events:
            log.info("event %s %s %s", ev.topic, ev.event_id, ev.action_id)


def default_bus() -> Bus:
    if settings.REDIS_URL:
        return RedisStreamBus(settings.REDIS_URL, settings.EVENT_BUS_STREAM)
    return LogBus()


def relay(bus: Bus | None = None, *, batch: int = BATCH) -> int:
    """Publish unsent events in order; return how many were sent."""
    bus = bus or default_bus()
    sent = 0
    while True:
        # one relay at a time, held while publishing, so order holds
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", [RELAY_LOCK_ID])
            events = list(
                OutboxEvent.objects.filter(sent_at__isnull=True).order_by("id")[:batch]
            )
            if not events:
                return sent
            ids = [e.id for e in events]
            bus.publish(events)  # raises: nothing is marked, all is retried
            OutboxEvent.objects.filter(id__in=ids).update(sent_at=timezone.now())
        sent += len(events)
        if len(events) < batch:
            return sent


def purge_sent() -> int:
    """Delete events the bus acknowledged more than OUTBOX_RETENTION_HOURS
    ago (every audit row is an event: kept, the outbox would grow with the
    log); unsent events are never deleted. Returns how many went."""
    cutoff = timezone.now() - timedelta(hours=settings.OUTBOX_RETENTION_HOURS)
    old = OutboxEvent.objects.filter(sent_at__lt=cutoff)
    deleted = 0
    while ids := list(old.values_list("id", flat=True)[:PURGE_BATCH]):
        # a statement per batch: no long transaction holding the relay back
        deleted += OutboxEvent.objects.filter(id__in=ids).delete()[0]
    return deleted


RELAY_QUEUED_FLAG = "molam_ops:outbox-relay-queued"
RELAY_TASK = "molam_ops.tasks.relay_outbox"


def nudge_relay() -> None:
    """After an action commits, queue one relay unless one is already queued,
    so its events need not wait for beat. A message per action would cost the
    broker one write per action; the relay clears the flag before reading,
    so no committed event is left behind. The task is found by name: the
    kernel's tasks import this module, not the other way round.

    Never fails and never waits long: with the broker (Redis) down the
    action stands, its events wait in the outbox, and beat relays them once
    Redis is back. While this process knows Redis is down it does not try."""
    from django.core.cache import cache

    if settings.REDIS_URL and redis_outage.skip("broker"):
        return
    try:
        if not cache.add(RELAY_QUEUED_FLAG, 1, timeout=30):
            return
    except Exception as exc:  # beat relays anyway
        queue_failed(exc, "the outbox relay")
        return
    # the cache may just have found Redis down: then so is the broker
    if not queue_task(RELAY_TASK, "the outbox relay"):
        try:
            cache.delete(RELAY_QUEUED_FLAG)  # the next action tries again
        except Exception as exc:
            queue_failed(exc, "the outbox relay")
