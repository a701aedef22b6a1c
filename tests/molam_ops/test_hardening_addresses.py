"""The caller's address behind proxies, and the /api/ops/ allowlist."""

from __future__ import annotations

import ipaddress
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from molam_ops.lib.addresses import client_address, networks, parse_networks
from tests.factories import operator_user
from tests.helpers import assert_error

ROOT = Path(__file__).resolve().parents[2]
PROXIES = networks(("10.0.0.0/8", "fd00::/8"))


def random_outsider() -> str:
    """An address outside the allowlist, fresh per test run: the one-row-per-
    address-per-minute audit rule keys on it in a cache that outlives a run."""
    return str(ipaddress.ip_address("198.18.0.0") + random.randrange(2**17))


def test_parse_networks_normalizes_and_names_the_bad_item() -> None:
    assert parse_networks("X", " 203.0.113.0/24, 2001:DB8::/32 ,192.0.2.7,") == [
        "203.0.113.0/24",
        "2001:db8::/32",
        "192.0.2.7/32",
    ]
    assert parse_networks("X", "") == []
    for bad in ("10.0.0.1/8", "not-an-ip", "300.1.1.1", "10.0.0.0/33"):
        with pytest.raises(ValueError, match=r"^OPS_IP_ALLOWLIST: '") as exc:
            parse_networks("OPS_IP_ALLOWLIST", f"10.0.0.0/8,{bad}")
        assert bad in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("peer", "xff", "client"),
    [
        # no trusted proxy in front: X-Forwarded-For is the caller's own words
        ("198.51.100.9", "203.0.113.5", "198.51.100.9"),
        ("198.51.100.9", "", "198.51.100.9"),
        # one trusted proxy: the right-most hop is the client
        ("10.0.0.2", "203.0.113.5", "203.0.113.5"),
        # a forged hop on the left is skipped: the proxy appended the real one
        ("10.0.0.2", "203.0.113.5, 198.51.100.9", "198.51.100.9"),
        # a chain of trusted proxies is walked through
        ("10.0.0.2", "198.51.100.1, 203.0.113.5, 10.9.9.9", "203.0.113.5"),
        # only proxies: the left-most one is the client
        ("10.0.0.2", "10.1.1.1", "10.1.1.1"),
        ("10.0.0.2", "", "10.0.0.2"),
        # IPv6 peers, clients and proxies; ports and brackets some proxies write
        ("fd00::1", "2001:db8::7", "2001:db8::7"),
        ("2001:db8::9", "203.0.113.5", "2001:db8::9"),
        ("10.0.0.2", "[2001:db8::7]:443", "2001:db8::7"),
        ("10.0.0.2", "203.0.113.5:5100", "203.0.113.5"),
        # a dual-stack socket reports IPv4 peers IPv4-mapped
        ("::ffff:10.0.0.2", "203.0.113.5", "203.0.113.5"),
        ("::ffff:198.51.100.9", "203.0.113.5", "198.51.100.9"),
    ],
)
def test_client_address(peer: str, xff: str, client: str) -> None:
    assert str(client_address(peer, xff, PROXIES)) == client


@pytest.mark.parametrize(
    "text",
    ["bogus", "[::1", "[::1]x", "[::1]:", "[::1]:x", "203.0.113.5:", "1.2.3.4:x"],
)
def test_garbage_in_a_trusted_chain_is_no_address(text: str) -> None:
    assert client_address("10.0.0.2", f"203.0.113.5, {text}", PROXIES) is None
    # behind uvicorn, which already put the garbage in the peer's place
    assert client_address(text, text, PROXIES) is None
    # garbage left of the hop a trusted proxy appended is never read
    assert str(client_address("10.0.0.2", f"{text}, 203.0.113.5", PROXIES)) == (
        "203.0.113.5"
    )


@pytest.fixture
def allowlist(settings: Any) -> None:
    settings.OPS_IP_ALLOWLIST = ["203.0.113.0/24", "2001:db8::/32"]
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]


@pytest.mark.django_db
@pytest.mark.usefixtures("allowlist")
@pytest.mark.parametrize(
    ("peer", "xff"),
    [
        ("203.0.113.5", ""),
        ("2001:db8::5", ""),
        ("10.0.0.2", "198.51.100.1, 203.0.113.5"),
        ("10.0.0.2", "2001:db8::5, 10.3.3.3"),
    ],
)
def test_allowed_addresses_pass(pay_admin: APIClient, peer: str, xff: str) -> None:
    resp = pay_admin.get(
        "/api/ops/controls", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=xff
    )
    assert resp.status_code == 200, resp.content


@pytest.mark.django_db
@pytest.mark.usefixtures("allowlist")
def test_an_outsider_gets_403_and_one_audit_row(pay_admin: APIClient) -> None:
    ip = random_outsider()
    for _ in range(3):
        resp = pay_admin.get(
            "/api/ops/controls", REMOTE_ADDR=ip, HTTP_USER_AGENT="curl/8"
        )
        assert_error(resp, 403, "address_not_allowed")
    # three refusals, one row: an address flooding us cannot fill the audit log
    (row,) = OpsActionLog.objects.filter(ip=ip)
    assert row.status == "rejected"
    assert row.action_type == "api_request"
    assert row.actor_id == "alice"  # a valid bearer token names the caller
    assert row.details["reason"] == "address_not_allowed"
    assert row.target == {"method": "GET", "path": "/api/ops/controls"}
    assert row.user_agent == "curl/8"


@pytest.mark.django_db
@pytest.mark.usefixtures("allowlist")
def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(
    anonymous: APIClient,
) -> None:
    ip = random_outsider()
    resp = anonymous.get(
        "/api/ops/controls", REMOTE_ADDR=ip, HTTP_X_FORWARDED_FOR="203.0.113.5"
    )
    assert_error(resp, 403, "address_not_allowed")
    (row,) = OpsActionLog.objects.filter(ip=ip)
    assert row.actor_id == "anonymous"
    assert row.details["remote_addr"] == ip


@pytest.mark.django_db
@pytest.mark.usefixtures("allowlist")
def test_a_forged_hop_behind_a_trusted_proxy_does_not_pass(
    pay_admin: APIClient,
) -> None:
    ip = random_outsider()
    resp = pay_admin.get(
        "/api/ops/controls",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=f"203.0.113.5, {ip}",
    )
    assert_error(resp, 403, "address_not_allowed")
    assert OpsActionLog.objects.filter(ip=ip).count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("allowlist")
def test_only_api_ops_and_the_admin_are_fenced(pay_admin: APIClient) -> None:
    ip = random_outsider()
    assert pay_admin.get("/healthz", REMOTE_ADDR=ip).status_code == 200
    assert pay_admin.get("/api/metrics/summary", REMOTE_ADDR=ip).status_code == 200
    # the dashboard only signs in (at /admin/login/) and calls /api/ops/
    assert pay_admin.get("/", REMOTE_ADDR=ip).status_code == 302


@pytest.mark.django_db
@pytest.mark.usefixtures("allowlist")
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/admin/login/"),
        ("post", "/admin/login/"),
        ("get", "/admin/"),
        ("get", "/admin/controls/treasurycontrol/"),
        ("post", "/admin/controls/treasurycontrol/"),
    ],
)
def test_the_admin_is_refused_outside_the_allowlist(
    method: str, path: str, settings: Any
) -> None:
    user = operator_user(
        f"admin-{uuid.uuid4().hex[:8]}", "pay_admin", password="pw-for-this-test"
    )
    client = Client()
    client.force_login(user)
    ip = random_outsider()
    body = {"username": user.username, "password": "pw-for-this-test"}
    resp = getattr(client, method)(
        path, body if method == "post" else None, REMOTE_ADDR=ip, HTTP_USER_AGENT="ua"
    )
    assert resp.status_code == 403
    assert resp["Content-Type"].startswith("text/html")
    page = resp.content.decode()
    assert "Requests from your address are not allowed here." in page
    assert 'data-code="address_not_allowed"' in page
    (row,) = OpsActionLog.objects.filter(ip=ip)
    assert row.status == "rejected"
    assert row.action_type == "admin_request"
    assert row.details["code"] == "address_not_allowed"
    assert row.target == {"method": method.upper(), "path": path}
    # nothing behind the fence ran: no login, no changelist action
    assert not AccessAttempt.objects.filter(username=user.username).exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("allowlist")
def test_the_admin_refusal_speaks_the_readers_language() -> None:
    resp = Client().get(
        "/admin/login/", REMOTE_ADDR=random_outsider(), HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert resp.status_code == 403
    assert '<html lang="fr">' in resp.content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("allowlist")
def test_the_admin_is_open_inside_the_allowlist() -> None:
    client = Client()
    assert client.get("/admin/login/", REMOTE_ADDR="203.0.113.9").status_code == 200
    via_proxy = client.get(
        "/admin/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert via_proxy.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("peer", "forwarded"),
    [
        # as uvicorn leaves it: the trusted proxy's garbage in the peer's place
        ("garbage", "garbage"),
        # as a server without proxy handling leaves it
        ("10.0.0.2", "garbage"),
        ("10.0.0.2", "203.0.113.5, [::1"),
    ],
)
def test_garbage_from_a_trusted_proxy_is_an_unknown_address(
    pay_admin: APIClient, bank: Any, settings: Any, peer: str, forwarded: str
) -> None:
    from tests.helpers import post_action

    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    resp = post_action(
        pay_admin,
        "pause-bank",
        {"bank_profile_id": str(bank.id), "reason": "timeouts"},
        REMOTE_ADDR=peer,
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert resp.status_code == 200, resp.content
    assert resp.json()["log"]["ip"] is None
    assert OpsActionLog.objects.get(action_type="pause_bank").ip is None


@pytest.mark.django_db
@pytest.mark.usefixtures("allowlist")
def test_an_unknown_address_is_outside_the_allowlist(pay_admin: APIClient) -> None:
    resp = pay_admin.get(
        "/api/ops/controls", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="garbage"
    )
    assert_error(resp, 403, "address_not_allowed")


@pytest.mark.django_db
def test_an_empty_allowlist_allows_everyone(
    pay_admin: APIClient, settings: Any
) -> None:
    settings.OPS_IP_ALLOWLIST = []
    resp = pay_admin.get("/api/ops/controls", REMOTE_ADDR=random_outsider())
    assert resp.status_code == 200


@pytest.mark.django_db
def test_the_audit_ip_of_an_action_is_the_client_behind_the_proxy(
    pay_admin: APIClient, bank: Any, settings: Any
) -> None:
    from tests.helpers import post_action

    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    resp = post_action(
        pay_admin,
        "pause-bank",
        {"bank_profile_id": str(bank.id), "reason": "timeouts"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.77",
    )
    assert resp.status_code == 200, resp.content
    assert resp.json()["log"]["ip"] == "203.0.113.77"


@pytest.mark.django_db
def test_forwarded_proto_counts_only_from_a_trusted_proxy(
    anonymous: APIClient, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    via_proxy = anonymous.get(
        "/healthz", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_PROTO="https"
    )
    assert via_proxy["Strict-Transport-Security"].startswith("max-age=3600")
    direct = APIClient().get(
        "/healthz", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_PROTO="https"
    )
    assert "Strict-Transport-Security" not in direct


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OPS_IP_ALLOWLIST", "203.0.113.0/24,203.0.113.1/24"),
        ("TRUSTED_PROXIES", "x"),
        ("CORS_ALLOWED_ORIGINS", "localhost:8081"),  # no scheme
    ],
)
def test_a_bad_address_setting_stops_the_boot_with_one_line(
    name: str, value: str
) -> None:
    env = {**os.environ, "DEBUG": "1", name: value}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"error: {name}: '")
