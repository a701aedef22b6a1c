"""Every audit row goes to the central Audit Service: an ``ops.audit.row``
event in the outbox, written in the row's transaction, relayed to a real
Redis stream in ``seq`` order, at least once; sent events are purged."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import OpsActionLog
from audit.serializers import audit_row
from audit.services import ROW_TOPIC
from molam_ops import outbox
from molam_ops.models import OutboxEvent
from molam_ops.outbox import RedisStreamBus
from molam_ops.tasks import purge_outbox
from tests.audit.checkpoint_helpers import append
from tests.helpers import redis_url

pytestmark = pytest.mark.django_db


def _bus() -> RedisStreamBus:
    return RedisStreamBus(redis_url(), settings.EVENT_BUS_STREAM)


def _rows_on_stream(client: Any) -> list[tuple[str, dict[str, Any]]]:
    """(event_id, payload) of the stream's audit-row entries, in stream order."""
    out = []
    for _id, fields in client.xrange(settings.EVENT_BUS_STREAM):
        entry = {k.decode(): v.decode() for k, v in fields.items()}
        if entry["topic"] == ROW_TOPIC:
            out.append((entry["event_id"], json.loads(entry["payload"])))
    return out


def _first_copies(entries: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """What a consumer keeps: each event once (it de-duplicates on event_id)."""
    seen: set[str] = set()
    kept = []
    for event_id, payload in entries:
        if event_id not in seen:
            seen.add(event_id)
            kept.append(payload)
    return kept


def test_each_row_is_on_the_stream_once_in_seq_order(
    seeded: list[OpsActionLog], redis_client: Any
) -> None:
    append(3)
    rows = list(OpsActionLog.objects.order_by("seq"))
    assert outbox.relay(_bus(), batch=4) >= len(rows)

    entries = _rows_on_stream(redis_client)
    payloads = [p for _e, p in entries]
    assert payloads == [json.loads(json.dumps(audit_row(r))) for r in rows]
    assert [p["seq"] for p in payloads] == list(range(1, 9))
    assert len({e for e, _p in entries}) == len(entries)  # once each
    assert payloads[0]["prev_hash"] == rows[0].prev_hash
    assert all(p["hash"] == r.hash for p, r in zip(payloads, rows, strict=True))

    assert outbox.relay(_bus()) == 0  # nothing twice
    assert len(_rows_on_stream(redis_client)) == len(rows)


def test_a_relay_failing_midway_is_retried_and_order_holds(
    redis_client: Any,
) -> None:
    append(7)

    class DropsMidway(RedisStreamBus):
        """Accepts the first batch; in the second, delivers one event and
        loses the connection before the acknowledgement."""

        batches = 0

        def publish(self, events: list[OutboxEvent]) -> None:
            self.batches += 1
            if self.batches == 1:
                return super().publish(events)
            super().publish(events[:1])
            raise ConnectionError("connection lost")

    with pytest.raises(ConnectionError):
        outbox.relay(DropsMidway(redis_url(), settings.EVENT_BUS_STREAM), batch=3)
    assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 4

    assert outbox.relay(_bus(), batch=3) == 4

    entries = _rows_on_stream(redis_client)
    # seq 4 went out twice (at least once); a consumer sees 1..7 in order
    assert [p["seq"] for _e, p in entries] == [1, 2, 3, 4, 4, 5, 6, 7]
    assert [p["seq"] for p in _first_copies(entries)] == list(range(1, 8))


def test_the_event_goes_with_its_rows_transaction() -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        append(1)
        raise Boom
    assert not OpsActionLog.objects.exists()
    assert not OutboxEvent.objects.exists()

    append(1)
    event = OutboxEvent.objects.get()
    row = OpsActionLog.objects.get()
    assert (event.topic, event.action_id) == (ROW_TOPIC, row.action_id)
    assert event.payload == json.loads(json.dumps(audit_row(row)))


def test_sent_events_are_purged_after_the_retention(settings: Any) -> None:
    settings.OUTBOX_RETENTION_HOURS = 72
    now = timezone.now()

    def event(sent_hours_ago: float | None) -> OutboxEvent:
        sent = None if sent_hours_ago is None else now - timedelta(hours=sent_hours_ago)
        return OutboxEvent.objects.create(
            topic=ROW_TOPIC,
            action_id=None,
            payload={},
            created_at=now - timedelta(hours=100),
            sent_at=sent,
        )

    old = [event(73), event(200)]
    kept = [event(71), event(None)]  # recent, and never sent
    assert purge_outbox.delay().get() == len(old)
    assert set(OutboxEvent.objects.values_list("id", flat=True)) == {e.id for e in kept}
