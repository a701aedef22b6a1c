"""The API rate limit: per caller, per minute, one budget for every process."""

from __future__ import annotations

import ipaddress
import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from molam_ops.throttling import counter_key, subject_of
from molam_ops.tokens import mint
from tests.factories import operator_user
from tests.helpers import assert_error, bearer_client

ROOT = Path(__file__).resolve().parents[2]
# 45 s into a minute: the window ends 15 s later
FROZEN = datetime(2026, 11, 28, 12, 0, 45, tzinfo=UTC)


def jwt_client(sub: str) -> APIClient:
    return bearer_client(mint(sub=sub, roles=["pay_admin"], lang="en"))


def refusals_of(actor_id: str) -> list[OpsActionLog]:
    return list(OpsActionLog.objects.filter(actor_id=actor_id, status="rejected"))


@pytest.mark.django_db
def test_over_the_limit_is_429_with_retry_after_and_one_audit_row(
    settings: Any,
) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 5
    sub = f"flood-{uuid.uuid4().hex[:8]}"
    with time_machine.travel(FROZEN, tick=False):
        client = jwt_client(sub)
        for _ in range(5):
            assert client.get("/api/ops/controls").status_code == 200
        for _ in range(4):
            resp = client.get("/api/ops/controls")
            error = assert_error(resp, 429, "rate_limited")
            assert error["message"]
            assert resp["Retry-After"] == "15"
    # four refusals, one row: a flood cannot fill the append-only audit table
    (row,) = refusals_of(sub)
    assert row.action_type == "api_request"
    assert row.actor_role == "pay_admin"
    assert row.details["reason"] == "rate_limited"
    assert row.details["limit"] == 5
    assert row.target == {"method": "GET", "path": "/api/ops/controls"}
    assert row.ip == "127.0.0.1"

    # the next minute is a new window; another caller has its own budget
    with time_machine.travel(FROZEN.replace(minute=1, second=1), tick=False):
        assert client.get("/api/ops/controls").status_code == 200
    with time_machine.travel(FROZEN, tick=False):
        assert jwt_client(sub + "-other").get("/api/ops/controls").status_code == 200


@pytest.mark.django_db
def test_health_and_metrics_are_never_limited(settings: Any) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 1
    with time_machine.travel(FROZEN, tick=False):
        client = jwt_client(f"probe-{uuid.uuid4().hex[:8]}")
        assert client.get("/api/ops/controls").status_code == 200
        assert client.get("/api/ops/controls").status_code == 429
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            assert client.get("/metrics").status_code == 200


@pytest.mark.django_db
def test_zero_turns_the_limit_off(settings: Any) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 0
    client = jwt_client(f"free-{uuid.uuid4().hex[:8]}")
    for _ in range(5):
        assert client.get("/api/ops/controls").status_code == 200


@pytest.mark.django_db
def test_a_session_user_is_counted_as_that_user(settings: Any) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 2
    user = operator_user(f"ops-{uuid.uuid4().hex[:8]}", "ops")
    client = APIClient()
    client.force_login(user)
    # pks repeat between runs, and counters outlive a run by two minutes
    cache.delete(counter_key(f"sub:{user.username}", FROZEN.timestamp()))
    with time_machine.travel(FROZEN, tick=False):
        assert client.get("/api/ops/controls").status_code == 200
        assert client.get("/api/ops/controls").status_code == 200
        assert_error(client.get("/api/ops/controls"), 429, "rate_limited")
    assert len(refusals_of(user.username)) == 1


def fresh_address() -> str:
    """A client address of its own per test run: counters outlive a run."""
    return str(ipaddress.ip_address("198.18.0.0") + random.randrange(2**17))


@pytest.mark.django_db
def test_requests_without_credentials_are_limited_per_address(
    settings: Any,
) -> None:
    settings.RATE_LIMIT_ANONYMOUS_PER_MINUTE = 60
    ip = fresh_address()
    client = APIClient(REMOTE_ADDR=ip)
    with time_machine.travel(FROZEN, tick=False):
        answers = [client.get("/api/ops/controls") for _ in range(360)]
    assert [r.status_code for r in answers] == [401] * 60 + [429] * 300
    error = assert_error(answers[60], 429, "rate_limited")
    assert error["message"]
    assert answers[60]["Retry-After"] == "15"
    assert_error(answers[-1], 429, "rate_limited")
    # 300 refusals, one row
    (row,) = OpsActionLog.objects.filter(ip=ip)
    assert row.status == "rejected"
    assert row.actor_id == "anonymous"
    assert row.details["reason"] == "rate_limited"
    assert row.details["limit"] == 60


@pytest.mark.django_db
def test_bad_and_missing_credentials_share_the_address_budget(
    settings: Any,
) -> None:
    settings.RATE_LIMIT_ANONYMOUS_PER_MINUTE = 4
    ip = fresh_address()
    with time_machine.travel(FROZEN, tick=False):
        expired = mint(sub="alice", roles=["pay_admin"], ttl=timedelta(minutes=-1))
    credentials = [None, "Bearer not-a-jwt", f"Bearer {expired}", "Basic eDp5"]
    with time_machine.travel(FROZEN, tick=False):
        codes = []
        for header in credentials:
            client = APIClient(REMOTE_ADDR=ip)
            if header:
                client.credentials(HTTP_AUTHORIZATION=header)
            codes.append(client.post("/api/ops/freeze-payouts", {}).status_code)
        assert codes == [401, 401, 401, 401]
        for header in credentials:
            client = APIClient(REMOTE_ADDR=ip)
            if header:
                client.credentials(HTTP_AUTHORIZATION=header)
            assert_error(
                client.post("/api/ops/freeze-payouts", {}), 429, "rate_limited"
            )
        # an anonymous call of a public endpoint draws on the same budget
        assert APIClient(REMOTE_ADDR=ip).get("/api/schema/").status_code == 429
        # a caller with valid credentials from that address is not touched
        valid = jwt_client(f"nat-{uuid.uuid4().hex[:8]}")
        assert valid.get("/api/ops/controls", REMOTE_ADDR=ip).status_code == 200
        # nor is another address
        other = APIClient(REMOTE_ADDR=fresh_address())
        assert other.get("/api/ops/controls").status_code == 401


@pytest.mark.django_db
def test_the_anonymous_budget_follows_the_trusted_client_address(
    settings: Any,
) -> None:
    settings.RATE_LIMIT_ANONYMOUS_PER_MINUTE = 2
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    behind_proxy, untrusted = fresh_address(), fresh_address()
    with time_machine.travel(FROZEN, tick=False):
        proxy = APIClient(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=behind_proxy)
        assert [proxy.get("/api/ops/me").status_code for _ in range(3)] == [
            401,
            401,
            429,
        ]
        # another client behind the same proxy: its own budget
        neighbour = APIClient(
            REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=fresh_address()
        )
        assert neighbour.get("/api/ops/me").status_code == 401
        # a forged header from elsewhere buys no new budget
        codes = [
            APIClient(REMOTE_ADDR=untrusted, HTTP_X_FORWARDED_FOR=fresh_address())
            .get("/api/ops/me")
            .status_code
            for _ in range(3)
        ]
        assert codes == [401, 401, 429]


@pytest.mark.django_db
def test_zero_turns_the_anonymous_limit_off(settings: Any) -> None:
    settings.RATE_LIMIT_ANONYMOUS_PER_MINUTE = 0
    client = APIClient(REMOTE_ADDR=fresh_address())
    with time_machine.travel(FROZEN, tick=False):
        assert {client.get("/api/ops/me").status_code for _ in range(10)} == {401}


def test_an_anonymous_caller_is_counted_by_address(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    raw = RequestFactory().get(
        "/api/x", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    request = Request(raw)
    request._user = None  # DRF: nobody authenticated
    assert subject_of(request) == "ip:198.51.100.7"


SUBPROCESS_CALLER = """
import json, os, sys
import django
django.setup()
from django.test import Client
client = Client(HTTP_AUTHORIZATION="Bearer " + os.environ["H2_TOKEN"])
out = []
for _ in range(int(sys.argv[1])):
    r = client.get("/api/ops/me", HTTP_HOST="localhost")
    out.append([r.status_code, r.headers.get("Retry-After")])
print(json.dumps(out))
"""


def other_process(token: str, count: int) -> list[tuple[int, str | None]]:
    """``count`` requests from a second Django process on the same cache
    (REDIS_URL, or the file cache under the same MOLAM_VAR_DIR, and the same
    key prefix)."""
    from django.conf import settings

    env = {
        **os.environ,
        "DEBUG": "1",
        "H2_TOKEN": token,
        "RATE_LIMIT_PER_MINUTE": "100",
        "MOLAM_VAR_DIR": str(settings.VAR_DIR),
        # this test's own cache prefix (tests/conftest.py)
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "DJANGO_SETTINGS_MODULE": "molam_ops.settings",
        "LOG_LEVEL": "ERROR",
    }
    done = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_CALLER, str(count)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [tuple(x) for x in json.loads(done.stdout.strip().splitlines()[-1])]


@pytest.mark.django_db
def test_two_processes_share_one_budget(settings: Any) -> None:
    """60 requests from another process, then this one gets 40 before the
    429; the other process is refused too. Retried once if the wall-clock
    minute turned in the middle (a new window, a new budget)."""
    settings.RATE_LIMIT_PER_MINUTE = 100
    for _attempt in range(2):
        sub = f"shared-{uuid.uuid4().hex[:8]}"
        token = mint(sub=sub, roles=["pay_admin"], lang="en")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        window = int(time.time() // 60)
        theirs = other_process(token, 60)
        ours = [client.get("/api/ops/me") for _ in range(41)]
        after = other_process(token, 1)
        if int(time.time() // 60) == window:
            break
    assert [s for s, _ in theirs] == [200] * 60
    assert [r.status_code for r in ours] == [200] * 40 + [429]
    assert_error(ours[-1], 429, "rate_limited")
    assert 1 <= int(ours[-1]["Retry-After"]) <= 60
    assert after[0][0] == 429
    assert 1 <= int(after[0][1] or 0) <= 60
    # the 101st request was this process's: it wrote the one audit row
    assert len(refusals_of(sub)) == 1


def test_concurrent_hits_lose_no_count() -> None:
    """8 threads x 25 hits on one subject count 200, on Redis (atomic INCR)
    and on the file cache (read-then-write, so under the flock)."""
    from concurrent.futures import ThreadPoolExecutor

    from molam_ops.throttling import hit

    subject = f"race-{uuid.uuid4().hex}"
    now = time.time()
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(lambda _: hit(subject, now)[0], range(200)))
    assert sorted(counts) == list(range(1, 201))
