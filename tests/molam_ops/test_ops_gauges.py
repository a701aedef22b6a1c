"""The kernel's scrape-time gauges on /metrics: Redis reachability (a real
Redis, then a port nobody listens on) and the outbox's backlog and lag, which
grow while the bus is unreachable and drop to 0 once the relay has run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from molam_ops import outbox
from molam_ops.outbox import RedisStreamBus
from tests.helpers import post_action, redis_url

pytestmark = pytest.mark.django_db


def scrape() -> dict[str, float]:
    """Every label-less sample of the scrape, by name."""
    resp = Client().get("/metrics")
    assert resp.status_code == 200
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(resp.content.decode())
        for sample in family.samples
        if not sample.labels
    }


def test_redis_up_is_asked_at_each_scrape(redis_client: Any) -> None:
    with override_settings(REDIS_URL=redis_url()):
        assert scrape()["molam_ops_redis_up"] == 1
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        assert scrape()["molam_ops_redis_up"] == 0
    with override_settings(REDIS_URL=""):
        assert "molam_ops_redis_up" not in scrape()


def test_outbox_backlog_and_lag(
    pay_admin: APIClient, bank: Any, redis_client: Any
) -> None:
    start = timezone.now()
    assert scrape()["molam_ops_outbox_backlog"] == 0
    assert scrape()["molam_ops_outbox_oldest_unsent_age_seconds"] == 0
    with time_machine.travel(start, tick=False) as clock:
        body = {"bank_profile_id": str(bank.id), "reason": "connector timeouts"}
        assert post_action(pay_admin, "pause-bank", body).status_code == 200
        clock.shift(timedelta(minutes=3))
        body = {"bank_profile_id": str(bank.id), "reason": "back"}
        assert post_action(pay_admin, "resume-bank", body).status_code == 200
        clock.shift(timedelta(minutes=2))
        figures = scrape()
        assert figures["molam_ops_outbox_backlog"] >= 2
        # the oldest unsent event is the pause's, five minutes ago
        assert figures["molam_ops_outbox_oldest_unsent_age_seconds"] == 300
        sent = outbox.relay(RedisStreamBus(redis_url(), settings.EVENT_BUS_STREAM))
        assert sent == figures["molam_ops_outbox_backlog"]
        figures = scrape()
        assert figures["molam_ops_outbox_backlog"] == 0
        assert figures["molam_ops_outbox_oldest_unsent_age_seconds"] == 0
