"""Executing a plan while the broker (Redis) is down: the action commits and
answers as usual; the plan waits, executing, for beat to take it up
(plans/execution/takeup.py), instead of the answer becoming an error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from molam_ops.celery import app as celery_app
from plans.choices import PlanStatus
from tests.helpers import free_port
from tests.plans.test_execute_plan_support import execute, make_plan, transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down() -> Iterator[None]:
    """Tasks really published, to a Redis broker nobody listens on."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, celery_app._pool)
    conf.task_always_eager = False
    conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        conf.task_always_eager, conf.broker_url, celery_app._pool = saved
        celery_app.amqp._producer_pool = None


def test_a_plan_executed_with_the_broker_down_is_accepted_and_waits(
    broker_down: None,
    pay_admin: APIClient,
    rails: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    plan = make_plan(transfer(rails["a"], rails["b"], "100.00"))
    with django_capture_on_commit_callbacks(execute=True):
        resp = execute(pay_admin, plan)
    assert resp.status_code == 202, resp.content
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTING
