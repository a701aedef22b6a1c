"""Admin sign-in under attack: locked out per username and address after
``AXES_FAILURE_LIMIT`` failures (django-axes), the right password included,
with one audit row per lockout; the address is the one the rest of the app
computes (``TRUSTED_PROXIES``)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import OpsActionLog
from tests.factories import operator_user

PASSWORD = "the-right-password"
pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> User:
    # a fresh name per test: the audit rule "one row per username and address
    # per minute" keys on it in a cache that outlives a run
    return operator_user(f"op-{uuid.uuid4().hex[:8]}", "pay_admin", password=PASSWORD)


def sign_in(
    client: Client,
    username: str,
    password: str,
    path: str = "/admin/login/",
    **extra: Any,
) -> Any:
    return client.post(path, {"username": username, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def lockouts(username: str) -> list[OpsActionLog]:
    return list(
        OpsActionLog.objects.filter(action_type="admin_login", actor_id=username)
    )


def test_the_right_password_is_refused_while_locked_out(operator: User) -> None:
    client = Client()
    # one instant: on a slow machine the 120 tries could span two audit windows
    with time_machine.travel(timezone.now(), tick=False):
        for attempt in range(1, 121):
            resp = sign_in(client, operator.username, "wrong")
            # the failure that reaches the limit is already answered by the lock
            assert resp.status_code == (200 if attempt < 5 else 429), attempt
        resp = sign_in(client, operator.username, PASSWORD)
    assert resp.status_code == 429
    assert not signed_in(client)
    assert resp["Content-Type"].startswith("text/html")
    assert 'data-code="login_locked_out"' in resp.content.decode()
    assert "Try again in 15 minutes" in resp.content.decode()
    assert resp["Retry-After"] == "900"
    assert client.get("/admin/").status_code == 302  # still to the login page

    # 117 refusals in this minute, one audit row
    (row,) = lockouts(operator.username)
    assert row.status == "rejected"
    assert row.actor_role == ""
    assert row.ip == "127.0.0.1"
    assert row.target == {"method": "POST", "path": "/admin/login/"}
    assert row.details["code"] == "login_locked_out"
    assert row.details["username"] == operator.username
    assert row.details["failures"] == 5
    assert row.details["limit"] == 5


def test_below_the_limit_a_success_clears_the_count(operator: User) -> None:
    client = Client()
    for _ in range(4):
        assert sign_in(client, operator.username, "wrong").status_code == 200
    assert sign_in(client, operator.username, PASSWORD).status_code == 302
    assert signed_in(client)
    client.logout()
    for _ in range(4):
        assert sign_in(client, operator.username, "wrong").status_code == 200
    assert sign_in(client, operator.username, PASSWORD).status_code == 302
    assert lockouts(operator.username) == []


def test_the_lock_is_per_username_and_address(operator: User) -> None:
    other = operator_user(f"op-{uuid.uuid4().hex[:8]}", "ops", password=PASSWORD)
    attacker = Client(REMOTE_ADDR="198.51.100.66")
    for _ in range(5):
        sign_in(attacker, operator.username, "wrong")
    assert sign_in(attacker, operator.username, PASSWORD).status_code == 429
    # the operator, from the office: not locked by the attacker's guesses
    office = Client(REMOTE_ADDR="203.0.113.10")
    assert sign_in(office, operator.username, PASSWORD).status_code == 302
    # another account from the attacker's address: its own count
    assert (
        sign_in(
            Client(REMOTE_ADDR="198.51.100.66"), other.username, PASSWORD
        ).status_code
        == 302
    )
    assert [row.ip for row in lockouts(operator.username)] == ["198.51.100.66"]


def test_a_forged_forwarded_for_does_not_escape_the_lock(operator: User) -> None:
    client = Client(REMOTE_ADDR="198.51.100.67")
    for n in range(6):
        sign_in(
            client, operator.username, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
        )
    resp = sign_in(
        client, operator.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99"
    )
    assert resp.status_code == 429
    assert [row.ip for row in lockouts(operator.username)] == ["198.51.100.67"]


def test_behind_a_trusted_proxy_each_client_has_its_own_count(
    operator: User, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    client = Client()
    for _ in range(5):
        sign_in(
            client,
            operator.username,
            "wrong",
            HTTP_X_FORWARDED_FOR="198.51.100.68",
            **proxy,
        )
    locked = sign_in(
        client,
        operator.username,
        PASSWORD,
        HTTP_X_FORWARDED_FOR="198.51.100.68",
        **proxy,
    )
    assert locked.status_code == 429
    resp = sign_in(
        Client(),
        operator.username,
        PASSWORD,
        HTTP_X_FORWARDED_FOR="203.0.113.11",
        **proxy,
    )
    assert resp.status_code == 302
    assert [row.ip for row in lockouts(operator.username)] == ["198.51.100.68"]


def test_the_lock_ends_after_the_cool_off(operator: User) -> None:
    client = Client()
    for _ in range(5):
        sign_in(client, operator.username, "wrong")
    assert sign_in(client, operator.username, PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        # an attempt while locked starts the cool-off again
        assert sign_in(client, operator.username, PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=14 + 16), tick=False):
        assert sign_in(client, operator.username, PASSWORD).status_code == 302


def test_axes_reset_username_unlocks(operator: User) -> None:
    client = Client()
    for _ in range(5):
        sign_in(client, operator.username, "wrong")
    assert sign_in(client, operator.username, PASSWORD).status_code == 429
    call_command("axes_reset_username", operator.username)
    assert sign_in(client, operator.username, PASSWORD).status_code == 302


def test_the_limit_and_a_lock_without_end_are_settings(
    operator: User, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = None
    client = Client()
    assert sign_in(client, operator.username, "wrong").status_code == 200
    resp = sign_in(client, operator.username, "wrong")
    assert resp.status_code == 429
    assert "Retry-After" not in resp
    assert "Ask an administrator to unlock it." in resp.content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=30), tick=False):
        assert sign_in(client, operator.username, PASSWORD).status_code == 429


def test_the_browsable_api_sign_in_shares_the_lock(operator: User) -> None:
    client = Client()
    for _ in range(5):
        sign_in(client, operator.username, "wrong")
    resp = sign_in(client, operator.username, PASSWORD, path="/api-auth/login/")
    assert resp.status_code == 429
    assert not signed_in(client)


def test_the_lockout_page_speaks_french(operator: User) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    for _ in range(5):
        resp = sign_in(client, operator.username, "wrong")
    assert resp.status_code == 429
    page = resp.content.decode()
    assert '<html lang="fr">' in page
    assert "Réessayez dans 15 minutes" in page
