"""Beat's audit partition task and gauge on either database: on SQLite (one
plain table) they do nothing and export nothing; on PostgreSQL
tests/audit/test_partitions.py covers them."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from prometheus_client import CollectorRegistry, generate_latest

from audit import partitions, tasks
from audit.metrics import install

pytestmark = pytest.mark.django_db


def test_beat_schedules_the_task() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["ensure-audit-partitions"]
    assert (
        entry["task"] == tasks.ensure_partitions.name == "audit.tasks.ensure_partitions"
    )
    assert entry["schedule"] == settings.AUDIT_PARTITION_INTERVAL


def test_task_and_gauge_follow_the_database() -> None:
    registry = CollectorRegistry()
    install(registry)
    text = generate_latest(registry).decode()
    if connection.vendor == "postgresql":
        assert partitions.is_partitioned(connection)
        assert tasks.ensure_partitions() == 0  # migrate left a partition ahead
        assert "molam_ops_audit_partition_headroom_ratio 1" in text
    else:
        assert not partitions.is_partitioned(connection)
        assert tasks.ensure_partitions() == 0
        assert partitions.headroom(connection) is None
        assert "molam_ops_audit_partition_headroom_ratio" not in text
