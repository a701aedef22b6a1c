"""Redis down is not on the path of a freeze (DESIGN §10): with a Redis of
the test's own stopped, actions execute and write their audit row and outbox
event, the rate limit counts in the process, /readyz stays ready, and the
events are relayed once when Redis is back."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from molam_ops.celery import app as celery_app
from molam_ops.lib import envconfig
from molam_ops.models import OutboxEvent
from molam_ops.outages import redis_outage
from molam_ops.outbox import relay
from tests.factories import BankProfileFactory
from tests.helpers import assert_error, post_action
from tests.servers import OwnRedis, own_redis

pytestmark = pytest.mark.redis


def fallbacks(use: str) -> float:
    value = REGISTRY.get_sample_value(
        "molam_ops_dependency_fallback_total", {"dependency": "redis", "use": use}
    )
    return value or 0.0


def switch_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "molam_ops.outages" and "unreachable" in r.getMessage()
    ]


@contextmanager
def app_on_redis(url: str, settings: Any, tmp_path: Path) -> Iterator[None]:
    """The app's cache, channel layer, event bus and Celery broker on the
    Redis at ``url`` (tasks are really published, not run inline)."""
    settings.REDIS_URL = url
    settings.CACHES = envconfig.caches(
        url, key_prefix="outage", cache_dir=tmp_path, timeout=0.5
    )
    settings.CHANNEL_LAYERS = envconfig.channel_layers(url)
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, celery_app._pool)
    conf.task_always_eager = False
    conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    redis_outage.down = False
    redis_outage.retry_at = 0.0
    try:
        yield
    finally:
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        conf.task_always_eager, conf.broker_url, celery_app._pool = saved
        celery_app.amqp._producer_pool = None
        redis_outage.down = False
        redis_outage.retry_at = 0.0


@pytest.fixture
def redis_server(tmp_path: Path, settings: Any) -> Iterator[OwnRedis]:
    with own_redis(tmp_path) as server, app_on_redis(server.url, settings, tmp_path):
        yield server


@pytest.fixture
def hung_redis(tmp_path: Path, settings: Any) -> Iterator[str]:
    """A "Redis" that accepts connections (the kernel completes them) and
    never answers: a server stuck, or a network that drops its replies."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        url = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
        with app_on_redis(url, settings, tmp_path):
            yield url


def test_a_freeze_executes_with_redis_stopped_and_is_relayed_once_after(
    redis_server: OwnRedis,
    tx_db: None,
    pay_admin: APIClient,
    client: Client,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 4
    caplog.set_level(logging.INFO)
    banks = [BankProfileFactory() for _ in range(3)]
    before = {use: fallbacks(use) for use in ("rate_limit", "cache", "broker")}

    redis_server.stop()
    answers = [
        post_action(
            pay_admin,
            "freeze-payouts",
            {"scope": {"bank_profile_id": str(bank.id)}, "reason": "incident"},
        )
        for bank in banks
    ]
    assert [r.status_code for r in answers] == [200, 200, 200], answers[0].content
    # reads work too; the fifth request of the minute is over the budget,
    # counted in this process
    assert pay_admin.get("/api/ops/controls").status_code == 200
    assert_error(pay_admin.get("/api/ops/controls"), 429, "rate_limited")

    # every freeze has its effect, its audit row and its event, waiting
    for bank, resp in zip(banks, answers, strict=True):
        action_id = resp.json()["log"]["action_id"]
        row = OpsActionLog.objects.get(action_id=action_id, status="executed")
        assert row.target["bank_profile_id"] == str(bank.id)
        assert OutboxEvent.objects.filter(
            action_id=action_id, sent_at__isnull=True
        ).exists()
    # the fallback is counted, and the switch logged once, not per request
    assert fallbacks("rate_limit") - before["rate_limit"] >= 5
    assert fallbacks("broker") > before["broker"]
    assert len(switch_lines(caplog)) == 1
    # /readyz keeps the pod in rotation and says why
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert ready.json()["checks"] == {"database": "ok", "redis": "unreachable"}

    redis_server.start()
    redis_outage.retry_at = 0.0  # due for a try now, not after the interval
    assert client.get("/readyz").json()["checks"]["redis"] == "ok"
    assert relay() == OutboxEvent.objects.count()
    assert relay() == 0  # nothing is sent twice
    stream = redis.Redis.from_url(redis_server.url).xrange(
        django_settings.EVENT_BUS_STREAM
    )
    sent = [fields[b"event_id"].decode() for _id, fields in stream]
    expected = [
        str(e)
        for e in OutboxEvent.objects.order_by("id").values_list("event_id", flat=True)
    ]
    assert sent == expected  # in order, once each
    # Redis answers again: the cache is shared once more
    pay_admin.get("/api/ops/controls")
    assert redis_outage.down is False


def test_the_cache_falls_back_per_process_and_comes_back(
    redis_server: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    from django.core.cache import cache

    caplog.set_level(logging.INFO)
    cache.set("kept", "shared", timeout=60)
    redis_server.stop()
    assert cache.get("kept") is None  # the process's own cache, empty
    assert cache.add("flag", 1, timeout=30) is True
    assert cache.add("flag", 1, timeout=30) is False
    assert [cache.count_hit("hits", 120) for _ in range(3)] == [1, 2, 3]
    assert len(switch_lines(caplog)) == 1

    redis_server.start()
    redis_outage.retry_at = 0.0
    assert cache.get("kept") is None  # a fresh server: nothing was kept
    cache.set("kept", "again", timeout=60)
    assert cache.get("kept") == "again"
    assert redis_outage.down is False
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_a_freeze_executes_with_a_redis_that_does_not_answer(
    hung_redis: str,
    tx_db: None,
    pay_admin: APIClient,
    client: Client,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # each wait for Redis is bounded (REDIS_TIMEOUT_SECONDS): the request
    # falls back instead of hanging (a hang fails the test on its timeout).
    # No rate limit: the relay's nudge, after the commit, is the first to
    # meet Redis, and must not go on to the broker
    settings.RATE_LIMIT_PER_MINUTE = 0
    caplog.set_level(logging.INFO)
    bank = BankProfileFactory()
    body = {"scope": {"bank_profile_id": str(bank.id)}, "reason": "incident"}
    resp = post_action(pay_admin, "freeze-payouts", body)
    assert resp.status_code == 200, resp.content
    action_id = resp.json()["log"]["action_id"]
    assert OpsActionLog.objects.filter(action_id=action_id, status="executed").exists()
    assert OutboxEvent.objects.filter(action_id=action_id, sent_at=None).exists()
    (line,) = switch_lines(caplog)
    assert "TimeoutError" in line
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["redis"] == "unreachable"


def test_other_actions_and_approval_requests_work_with_redis_stopped(
    redis_server: OwnRedis,
    tx_db: None,
    pay_admin: APIClient,
    finance_ops: APIClient,
    settings: Any,
) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 100  # as in production
    bank = BankProfileFactory()
    redis_server.stop()
    paused = post_action(
        pay_admin, "pause-bank", {"bank_profile_id": str(bank.id), "reason": "x"}
    )
    assert paused.status_code == 200, paused.content
    flag = post_action(pay_admin, "set-flag", {"name": "beta", "enabled": True})
    assert flag.status_code == 200, flag.content
    # a global freeze waits for signatures; the approvers' mail cannot be
    # queued (the broker is down), the request stands
    asked = post_action(
        finance_ops, "freeze-payouts", {"scope": "global", "reason": "incident"}
    )
    assert asked.status_code == 202, asked.content
    assert asked.json()["approval"]["status"] == "pending"
    for resp in (paused, flag, asked):
        action_id = resp.json()["log"]["action_id"]
        assert OutboxEvent.objects.filter(action_id=action_id).exists()
