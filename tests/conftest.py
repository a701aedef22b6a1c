"""Shared fixtures: a client per role, real tokens, databases that keep the
audit triggers, a cache of each test's own, the test Redis, the app's database
role. Plain helpers are in tests/helpers.py."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from audit import triggers
from molam_ops.celery import app as celery_app
from molam_ops.tokens import mint
from tests import schema_check
from tests.factories import BankProfileFactory
from tests.helpers import bearer_client, own_cache, redis_url

# Tasks queued by the code under test run inline; no broker needed.
celery_app.conf.task_always_eager = True

ROLES = ("pay_admin", "finance_ops", "ops")


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _responses_match_the_schema() -> Iterator[None]:
    """Every /api answer a test client gets is checked against the OpenAPI
    document (tests/schema_check.py): the schema and the code cannot drift."""
    uninstall = schema_check.install()
    # built now, not inside the first test that meets an /api answer: those
    # seconds would land in the middle of a test that measures a window
    schema_check.warm()
    yield
    uninstall()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if schema_check.checked():  # this process ran the tests (no xdist)
        terminalreporter.write_line(
            f"OpenAPI: {schema_check.checked()} /api answers checked against "
            "the document"
        )


@pytest.fixture(autouse=True)
def _own_cache(settings: Any) -> None:
    """Each test gets a cache of its own: a key prefix nobody else uses, so
    rate-limit counters, cached KPI summaries and refusal windows of one test
    never reach another (on the file cache and on a Redis shared with other
    test runs alike). Django drops its cache connections when CACHES changes,
    and again when the setting is restored."""
    own_cache(settings)


@pytest.fixture
def make_token() -> Callable[..., str]:
    def _make(sub: str = "alice", roles: list[str] | None = None, **kw: Any) -> str:
        return mint(sub=sub, roles=roles if roles is not None else ["pay_admin"], **kw)

    return _make


@pytest.fixture
def client_for(make_token: Callable[..., str]) -> Callable[..., APIClient]:
    """``client_for("finance_ops", sub="bruno")`` → an authenticated APIClient."""

    def _for(*roles: str, sub: str | None = None) -> APIClient:
        return bearer_client(
            make_token(
                sub=sub or f"{'-'.join(roles) or 'nobody'}-user", roles=list(roles)
            )
        )

    return _for


@pytest.fixture
def pay_admin(client_for: Callable[..., APIClient]) -> APIClient:
    return client_for("pay_admin", sub="alice")


@pytest.fixture
def finance_ops(client_for: Callable[..., APIClient]) -> APIClient:
    return client_for("finance_ops", sub="bruno")


@pytest.fixture
def ops(client_for: Callable[..., APIClient]) -> APIClient:
    return client_for("ops", sub="chloe")


@pytest.fixture
def outsider(client_for: Callable[..., APIClient]) -> APIClient:
    """Authenticated, but with no known role."""
    return client_for("auditor", sub="mallory")


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def bank(db: None) -> Any:
    return BankProfileFactory()


@pytest.fixture
def _restore_audit_triggers(django_db_blocker: Any) -> Iterator[None]:
    # set up before transactional_db, so this teardown runs after its flush
    yield
    with django_db_blocker.unblock():
        triggers.install(connection)


@pytest.fixture
def tx_db(_restore_audit_triggers: None, transactional_db: None) -> Iterator[None]:
    """A real-commit database (for threads and processes). The flush between
    tests must empty the append-only audit tables (ops_actions_log, the Merkle
    tree's nodes and checkpoints: audit.triggers.APPEND_ONLY_TABLES), which
    their triggers refuse, so they are dropped just before it and re-installed
    just after, as the owner would."""
    yield
    connection.close_if_unusable_or_obsolete()
    triggers.drop(connection)


@pytest.fixture
def redis_client() -> Iterator[Any]:
    """A real Redis (db 15 by default), flushed before and after."""
    import redis

    client = redis.Redis.from_url(redis_url())
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis at " + redis_url())
    client.flushdb()
    yield client
    client.flushdb()


# --- the application's database role (PostgreSQL) ---------------------------


@pytest.fixture
def app_role(db: None) -> str:
    """A fresh role, created inside the test's transaction: gone at rollback."""
    role = f"molam_app_t{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cur:
        cur.execute(f'CREATE ROLE "{role}" NOLOGIN NOINHERIT')
    out = StringIO()
    call_command("grant_app_role", role, stdout=out)
    assert f"granted {role}" in out.getvalue()
    return role
