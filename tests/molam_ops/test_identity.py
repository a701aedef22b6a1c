"""Who may call (DESIGN §4): hostile tokens are refused with 401 and the §6
body, roles outside the known three grant nothing, session users act through
their groups (with CSRF on writes), and ``mint_token`` makes usable tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Any

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from controls.models import TreasuryControl
from molam_ops.identity import ensure_dev_keypair, public_key_pem
from tests.factories import operator_user
from tests.helpers import assert_error, post_action

ISSUER = "https://id.molam.test"
AUDIENCE = "molam-ops"

# fixed, so pytest-xdist workers collect the same test ids
ANY_UUID = "00000000-0000-4000-8000-000000000000"


# --- building tokens by hand ---------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: dict[str, Any]) -> str:
    return b64url(json.dumps(obj).encode())


def claims(**over: Any) -> dict[str, Any]:
    """Valid pay_admin claims; a value of None removes the claim."""
    now = int(timezone.now().timestamp())
    base: dict[str, Any] = {
        "sub": "mallory",
        "roles": ["pay_admin"],
        "iat": now,
        "exp": now + 3600,
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def rs256(payload: dict[str, Any], private_pem: str | None = None) -> str:
    return jwt.encode(payload, private_pem or ensure_dev_keypair()[0], "RS256")


@lru_cache(maxsize=1)
def other_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def alg_none() -> str:
    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims())}."


def hs256_with_public_key() -> str:
    """The key-confusion attack: HMAC keyed with the server's public PEM.
    PyJWT refuses to sign this, so it is assembled by hand."""
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims())}"
    mac = hmac.new(public_key_pem().encode(), signing_input.encode(), hashlib.sha256)
    return f"{signing_input}.{b64url(mac.digest())}"


def future() -> int:
    return int((timezone.now() + timedelta(hours=1)).timestamp())


HOSTILE: dict[str, Callable[[], str]] = {
    "signed_by_another_key": lambda: rs256(claims(), other_private_key()),
    "alg_none": alg_none,
    "rs512_with_the_right_key": lambda: jwt.encode(
        claims(), ensure_dev_keypair()[0], "RS512"
    ),
    "hs256_keyed_with_public_pem": hs256_with_public_key,
    "expired": lambda: rs256(claims(exp=int(timezone.now().timestamp()) - 60)),
    "not_yet_valid": lambda: rs256(claims(nbf=future())),
    "missing_sub": lambda: rs256(claims(sub=None)),
    "empty_sub": lambda: rs256(claims(sub="")),
    "missing_exp": lambda: rs256(claims(exp=None)),
    "garbage": lambda: "not-a-jwt",
    "tampered_payload": lambda: tamper(rs256(claims(roles=["ops"]))),
}


def tamper(token: str) -> str:
    """Swap in a payload granting pay_admin, keeping the original signature."""
    header, _, sig = token.split(".")
    return f"{header}.{segment(claims(roles=['pay_admin']))}.{sig}"


# --- assertions ------------------------------------------------------------------


def bearer(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


def pause_body(bank: Any) -> dict[str, str]:
    return {"bank_profile_id": str(bank.id), "reason": "connector timeouts"}


def assert_nothing_happened() -> None:
    assert not OpsActionLog.objects.exists()
    assert not TreasuryControl.objects.filter(enabled=True).exists()


# --- hostile tokens ----------------------------------------------------------------


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_token_is_refused_on_a_list(db: None, kind: str) -> None:
    resp = bearer(f"Bearer {HOSTILE[kind]()}").get("/api/ops/banks")
    assert_error(resp, 401, "token_invalid")
    assert "Bearer" in resp["WWW-Authenticate"]


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_token_is_refused_on_an_action(bank: Any, kind: str) -> None:
    resp = post_action(
        bearer(f"Bearer {HOSTILE[kind]()}"), "pause-bank", pause_body(bank)
    )
    assert_error(resp, 401, "token_invalid")
    assert_nothing_happened()


@pytest.mark.parametrize("header", ["Bearer ", "Bearer", "Bearer a b"])
def test_malformed_bearer_header_is_refused(bank: Any, header: str) -> None:
    assert_error(bearer(header).get("/api/ops/banks"), 401, "token_invalid")
    resp = post_action(bearer(header), "pause-bank", pause_body(bank))
    assert_error(resp, 401, "token_invalid")
    assert_nothing_happened()


def test_no_credentials_is_401_not_authenticated(anonymous: APIClient) -> None:
    assert_error(anonymous.get("/api/ops/banks"), 401, "not_authenticated")


def test_token_is_accepted_until_it_expires(db: None, make_token: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = bearer(f"Bearer {make_token(ttl=timedelta(minutes=10))}")
        assert client.get("/api/ops/banks").status_code == 200
    with time_machine.travel(start + timedelta(minutes=9, seconds=59), tick=False):
        assert client.get("/api/ops/banks").status_code == 200
    with time_machine.travel(start + timedelta(minutes=10, seconds=1), tick=False):
        assert_error(client.get("/api/ops/banks"), 401, "token_invalid")


def test_token_with_nbf_becomes_valid_at_nbf(db: None) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        nbf = int(start.timestamp()) + 300
        client = bearer(f"Bearer {rs256(claims(nbf=nbf))}")
        assert_error(client.get("/api/ops/banks"), 401, "token_invalid")
    with time_machine.travel(start + timedelta(minutes=5, seconds=1), tick=False):
        assert client.get("/api/ops/banks").status_code == 200


# --- issuer and audience -----------------------------------------------------------


@pytest.fixture
def issuer_and_audience(settings: Any) -> None:
    settings.MOLAM_ID_ISSUER = ISSUER
    settings.MOLAM_ID_AUDIENCE = AUDIENCE


@pytest.mark.usefixtures("issuer_and_audience")
def test_matching_issuer_and_audience_are_accepted(db: None, make_token: Any) -> None:
    token = make_token()
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == ISSUER
    assert bearer(f"Bearer {token}").get("/api/ops/banks").status_code == 200


@pytest.mark.usefixtures("issuer_and_audience")
@pytest.mark.parametrize(
    "over",
    [
        {"iss": "https://evil.example", "aud": AUDIENCE},
        {"iss": None, "aud": AUDIENCE},
        {"iss": ISSUER, "aud": "another-service"},
        {"iss": ISSUER, "aud": None},
    ],
    ids=["wrong_iss", "missing_iss", "wrong_aud", "missing_aud"],
)
def test_wrong_or_missing_issuer_or_audience_is_refused(
    bank: Any, over: dict[str, Any]
) -> None:
    client = bearer(f"Bearer {rs256(claims(**over))}")
    assert_error(client.get("/api/ops/banks"), 401, "token_invalid")
    assert_error(
        post_action(client, "pause-bank", pause_body(bank)), 401, "token_invalid"
    )
    assert_nothing_happened()


def test_issuer_is_not_checked_when_not_configured(db: None) -> None:
    client = bearer(f"Bearer {rs256(claims(iss='anyone', aud='anything'))}")
    assert client.get("/api/ops/banks").status_code == 200


# --- roles ------------------------------------------------------------------------


def api_get_paths() -> list[str]:
    """Every GET endpoint under /api/ops/, path parameters filled with a
    fresh UUID (the role check runs before any lookup)."""
    paths: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and route.startswith("api/ops/"):
                view = getattr(p.callback, "view_class", None)
                if view is not None and hasattr(view, "get"):
                    paths.append("/" + re.sub(r"<[^>]+>", ANY_UUID, route))

    walk(get_resolver().url_patterns, "")
    return sorted(paths)


def test_get_endpoints_are_found() -> None:
    paths = api_get_paths()
    for expected in ("/api/ops/banks", "/api/ops/actions", "/api/ops/payouts"):
        assert expected in paths


@pytest.mark.parametrize("path", api_get_paths())
def test_only_unknown_roles_get_403_on_every_get(
    db: None, make_token: Any, path: str
) -> None:
    client = bearer(f"Bearer {make_token(roles=['auditor', 'root', 'admin'])}")
    assert_error(client.get(path), 403, "forbidden")


@pytest.mark.parametrize(
    "roles", [[], "pay_admin", {"pay_admin": True}, [["pay_admin"]]]
)
def test_roles_claim_that_is_not_a_list_of_names_grants_nothing(
    bank: Any, roles: Any
) -> None:
    client = bearer(f"Bearer {rs256(claims(roles=roles))}")
    assert_error(client.get("/api/ops/banks"), 403, "forbidden")
    assert_error(post_action(client, "pause-bank", pause_body(bank)), 403, "forbidden")
    assert not TreasuryControl.objects.filter(enabled=True).exists()


def test_unknown_roles_are_ignored_next_to_known_ones(bank: Any) -> None:
    client = bearer(f"Bearer {rs256(claims(roles=['superuser', 'ops', 42]))}")
    assert client.get("/api/ops/banks").status_code == 200
    resp = post_action(client, "pause-bank", pause_body(bank))
    assert_error(resp, 403, "forbidden")
    row = OpsActionLog.objects.get()
    assert (row.status, row.actor_role) == ("rejected", "ops")
    assert not TreasuryControl.objects.filter(enabled=True).exists()


# --- session users ----------------------------------------------------------------


def session_user(*groups: str) -> User:
    # not staff: the admin login page then renders its form (a CSRF cookie)
    return operator_user(f"user-{uuid.uuid4().hex[:8]}", *groups, is_staff=False)


def csrf_client(user: User) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/admin/login/")  # renders a form, so sets the csrftoken cookie
    return client, client.cookies["csrftoken"].value


def session_post(
    client: Client, action: str, body: dict[str, Any], csrf: str | None
) -> Any:
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    if csrf:
        headers["X-CSRFToken"] = csrf
    return client.post(
        f"/api/ops/{action}",
        json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def test_session_user_in_finance_ops_group_acts_as_finance_ops(bank: Any) -> None:
    user = session_user("finance_ops", "auditors")
    client, csrf = csrf_client(user)
    assert client.get("/api/ops/banks").status_code == 200
    # pause-bank is pay_admin only: the runner refuses finance_ops, with a row
    resp = session_post(client, "pause-bank", pause_body(bank), csrf)
    assert_error(resp, 403, "forbidden")
    row = OpsActionLog.objects.get()
    assert (row.actor_id, row.actor_role) == (user.username, "finance_ops")
    assert row.status == "rejected"


def test_session_user_without_role_groups_is_forbidden(db: None) -> None:
    client = Client()
    client.force_login(session_user("auditors"))
    assert_error(client.get("/api/ops/banks"), 403, "forbidden")


def test_session_post_without_csrf_token_is_refused(bank: Any) -> None:
    client, _ = csrf_client(session_user("pay_admin"))
    resp = session_post(client, "pause-bank", pause_body(bank), csrf=None)
    error = assert_error(resp, 403, "forbidden")
    assert "CSRF" in error["message"]
    assert_nothing_happened()


def test_session_post_with_csrf_token_runs_the_action(bank: Any) -> None:
    user = session_user("pay_admin")
    client, csrf = csrf_client(user)
    resp = session_post(client, "pause-bank", pause_body(bank), csrf)
    assert resp.status_code == 200, resp.content
    assert resp.json()["control"]["active"] is True
    row = OpsActionLog.objects.get()
    assert (row.status, row.actor_id, row.actor_role) == (
        "executed",
        user.username,
        "pay_admin",
    )


# --- mint_token --------------------------------------------------------------------


def test_mint_token_prints_a_token_the_api_accepts(bank: Any) -> None:
    out = io.StringIO()
    call_command("mint_token", "--sub", "alice", "--role", "pay_admin", stdout=out)
    token = out.getvalue().strip()
    assert token.count(".") == 2
    client = bearer(f"Bearer {token}")
    resp = post_action(client, "pause-bank", pause_body(bank))
    assert resp.status_code == 200, resp.json()
    assert resp.json()["log"]["actor_id"] == "alice"
    assert resp.json()["log"]["actor_role"] == "pay_admin"
