"""The event outbox: written in the action's transaction, relayed to a real
Redis stream in order, at least once (DESIGN §2 step 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from audit.services import ROW_TOPIC
from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from molam_ops import outbox
from molam_ops.models import OutboxEvent
from molam_ops.outbox import RedisStreamBus
from molam_ops.tasks import relay_outbox
from tests.factories import BankProfileFactory
from tests.helpers import post_action, redis_url

pytestmark = pytest.mark.django_db


def _body(bank: Any) -> dict[str, str]:
    return {"bank_profile_id": str(bank.id), "reason": "connector timeouts"}


def _stream(client: Any) -> list[dict[str, str]]:
    entries = client.xrange(settings.EVENT_BUS_STREAM)
    return [
        {k.decode(): v.decode() for k, v in fields.items()} for _id, fields in entries
    ]


def _bus() -> RedisStreamBus:
    return RedisStreamBus(redis_url(), settings.EVENT_BUS_STREAM)


def _action_events() -> Any:
    """The actions' own events (every audit row has its event too)."""
    return OutboxEvent.objects.exclude(topic=ROW_TOPIC)


def _actions_only(entries: list[dict[str, str]]) -> list[dict[str, str]]:
    return [e for e in entries if e["topic"] != ROW_TOPIC]


class _RefuseInserts:
    """A real database trigger that makes every INSERT into ``table`` fail
    (those matching ``when``, an SQL condition on NEW, if given)."""

    def __init__(self, table: str, when: str = "TRUE") -> None:
        self.table = table
        self.when = when

    def __enter__(self) -> None:
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute(
                    "CREATE FUNCTION test_refuse_insert() RETURNS trigger "
                    "LANGUAGE plpgsql AS $$ BEGIN "
                    "RAISE EXCEPTION 'insert refused by test'; END $$"
                )
                cur.execute(
                    f"CREATE TRIGGER test_refuse BEFORE INSERT ON {self.table} "
                    f"FOR EACH ROW WHEN ({self.when}) "
                    "EXECUTE FUNCTION test_refuse_insert()"
                )
            else:
                cur.execute(
                    f"CREATE TRIGGER test_refuse BEFORE INSERT ON {self.table} "
                    f"WHEN ({self.when}) "
                    "BEGIN SELECT RAISE(ABORT, 'insert refused by test'); END"
                )

    def __exit__(self, *exc: object) -> None:
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute(f"DROP TRIGGER test_refuse ON {self.table}")
                cur.execute("DROP FUNCTION test_refuse_insert()")
            else:
                cur.execute("DROP TRIGGER test_refuse")


class TestWrittenWithTheAction:
    def test_executed_action_writes_one_event(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        resp = post_action(pay_admin, "pause-bank", _body(bank))
        assert resp.status_code == 200, resp.json()

        row = OpsActionLog.objects.get(action_type="pause_bank", status="executed")
        [event] = _action_events()
        assert event.topic == "ops.pause_bank.executed"
        assert event.action_id == row.action_id
        assert str(row.action_id) == resp.json()["log"]["action_id"]
        assert event.sent_at is None
        assert event.payload["action_id"] == str(row.action_id)
        assert event.payload["action_type"] == "pause_bank"
        assert event.payload["actor_id"] == "alice"
        assert event.payload["actor_role"] == "pay_admin"
        assert event.payload["status"] == "executed"
        assert event.payload["target"] == {
            "bank_profile_id": str(bank.id),
            "control_key": pause_bank_key(bank.id),
        }
        assert event.payload["details"]["reason"] == "connector timeouts"

    def test_refused_action_writes_no_event(
        self, pay_admin: APIClient, finance_ops: APIClient, bank: Any
    ) -> None:
        assert post_action(pay_admin, "pause-bank", _body(bank)).status_code == 200
        OutboxEvent.objects.all().delete()

        already = post_action(pay_admin, "pause-bank", _body(bank))
        forbidden = post_action(finance_ops, "resume-bank", _body(bank))
        unkeyed = post_action(pay_admin, "resume-bank", _body(bank), key=None)

        assert [already.status_code, forbidden.status_code, unkeyed.status_code] == [
            409,
            403,
            400,
        ]
        assert OpsActionLog.objects.filter(status="rejected").count() == 3
        assert not _action_events().exists()
        # each refusal's audit row goes to the Audit Service all the same
        assert OutboxEvent.objects.filter(topic=ROW_TOPIC).count() == 3

    def test_failed_effect_writes_no_event(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        with _RefuseInserts("treasury_controls"):
            resp = post_action(pay_admin, "pause-bank", _body(bank))

        assert resp.status_code == 500
        assert resp.json()["error"]["code"] == "action_failed"
        assert not _action_events().exists()
        statuses = list(OpsActionLog.objects.values_list("status", flat=True))
        assert statuses == ["failed"]

    def test_event_and_effect_commit_together(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        # the action's event cannot be written: the effect and its executed
        # row go with it (the failed row and its copy for the Audit Service
        # are written after, in a transaction of their own)
        with _RefuseInserts("ops_outbox", f"NEW.topic <> '{ROW_TOPIC}'"):
            resp = post_action(pay_admin, "pause-bank", _body(bank), key="k-1")

        assert resp.status_code == 500
        assert not TreasuryControl.objects.filter(key=pause_bank_key(bank.id)).exists()
        statuses = list(OpsActionLog.objects.values_list("status", flat=True))
        assert statuses == ["failed"]
        # nothing committed, so the same key runs again once the bus is back
        retry = post_action(pay_admin, "pause-bank", _body(bank), key="k-1")
        assert retry.status_code == 200, retry.json()
        assert (
            _action_events().get().action_id
            == OpsActionLog.objects.get(status="executed").action_id
        )


def _three_actions(client: APIClient) -> list[OutboxEvent]:
    first, second = BankProfileFactory(), BankProfileFactory()
    for action, bank in (
        ("pause-bank", first),
        ("pause-bank", second),
        ("resume-bank", first),
    ):
        assert post_action(client, action, _body(bank)).status_code == 200
    return list(OutboxEvent.objects.order_by("id"))


class TestRelay:
    def test_relay_publishes_unsent_events_in_order(
        self, pay_admin: APIClient, redis_client: Any
    ) -> None:
        already = OutboxEvent.objects.create(
            topic="ops.old.executed",
            action_id=None,
            payload={},
            created_at=timezone.now(),
            sent_at=timezone.now(),
        )
        events = _three_actions(pay_admin)[1:]  # all but the one already sent

        # each action: its audit rows' events and its own
        assert outbox.relay(_bus(), batch=2) == 6

        entries = _stream(redis_client)
        assert [e["event_id"] for e in entries] == [str(e.event_id) for e in events]
        assert [e["topic"] for e in _actions_only(entries)] == [
            "ops.pause_bank.executed",
            "ops.pause_bank.executed",
            "ops.resume_bank.executed",
        ]
        for entry, event in zip(entries, events, strict=True):
            assert entry["action_id"] == str(event.action_id)
            assert json.loads(entry["payload"]) == event.payload
            assert json.loads(entry["payload"])["action_id"] == entry["action_id"]
        executed = OpsActionLog.objects.filter(status="executed").order_by("seq")
        assert [e["action_id"] for e in _actions_only(entries)] == [
            str(r.action_id) for r in executed
        ]
        assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()
        already.refresh_from_db()
        assert str(already.event_id) not in {e["event_id"] for e in entries}

        assert outbox.relay(_bus()) == 0
        assert len(_stream(redis_client)) == 6

    def test_bus_failing_mid_batch_marks_nothing_and_retries_all(
        self, pay_admin: APIClient, redis_client: Any
    ) -> None:
        class AckLostBus(RedisStreamBus):
            """Delivers the first event, then the connection drops."""

            def publish(self, events: list[OutboxEvent]) -> None:
                super().publish(events[:1])
                raise ConnectionError("connection lost")

        events = _three_actions(pay_admin)
        broken = AckLostBus(redis_url(), settings.EVENT_BUS_STREAM)

        with pytest.raises(ConnectionError):
            outbox.relay(broken)

        assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 6
        assert len(_stream(redis_client)) == 1

        assert outbox.relay(_bus()) == 6

        # at least once: the first event is there twice, then all in order
        ids = [e["event_id"] for e in _stream(redis_client)]
        assert ids == [str(events[0].event_id)] + [str(e.event_id) for e in events]
        assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()

    def test_unreachable_redis_marks_nothing(
        self, pay_admin: APIClient, redis_client: Any
    ) -> None:
        import redis

        events = _three_actions(pay_admin)
        dead = RedisStreamBus("redis://127.0.0.1:1/0", settings.EVENT_BUS_STREAM)

        with pytest.raises(redis.ConnectionError):
            outbox.relay(dead)

        assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 6
        assert _stream(redis_client) == []
        assert outbox.relay(_bus()) == 6
        assert [e["event_id"] for e in _stream(redis_client)] == [
            str(e.event_id) for e in events
        ]


class TestRelayTask:
    def test_task_publishes_to_the_configured_redis(
        self, pay_admin: APIClient, redis_client: Any, settings: Any
    ) -> None:
        settings.REDIS_URL = redis_url()
        events = _three_actions(pay_admin)

        relay_outbox.delay()

        assert [e["event_id"] for e in _stream(redis_client)] == [
            str(e.event_id) for e in events
        ]
        assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()

    def test_commit_of_an_action_nudges_the_relay(
        self,
        pay_admin: APIClient,
        redis_client: Any,
        settings: Any,
        django_capture_on_commit_callbacks: Any,
        bank: Any,
    ) -> None:
        settings.REDIS_URL = redis_url()

        with django_capture_on_commit_callbacks(execute=True):
            resp = post_action(pay_admin, "pause-bank", _body(bank))

        assert resp.status_code == 200
        # the pause also queued the suggestions' refresh (inline in tests)
        entry, refreshed = _actions_only(_stream(redis_client))
        assert entry["topic"] == "ops.pause_bank.executed"
        assert refreshed["topic"] == "ops.update_suggestions.executed"
        assert entry["action_id"] == resp.json()["log"]["action_id"]
        assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()
