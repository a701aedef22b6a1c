"""The SIRA client against the real development server on 127.0.0.1, over
HTTP and over HTTPS with mTLS: retries, timeouts, schema checks, and the
fallback to the local planner that each failure leads to."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from audit.models import OpsActionLog
from plans import crypto, sira_client
from plans.models import Plan, PlanStep
from plans.planner.planning import PLANNER_VERSION
from plans.services import generation
from plans.sira_devserver import server_tls
from tests.helpers import free_port
from tests.plans.plan_helpers import generate, rails
from tests.plans.sira_helpers import PKI, make_pki, running


@pytest.fixture
def fast_sira(settings: Any) -> Any:
    """A short timeout and backoff, so the failing paths take well under 2 s."""
    settings.SIRA_TIMEOUT_SECONDS = 0.5
    settings.SIRA_BACKOFF_SECONDS = 0.01
    settings.SIRA_RETRIES = 2
    settings.SIRA_CA_BUNDLE = ""
    settings.SIRA_CLIENT_CERT = ""
    settings.SIRA_CLIENT_KEY = ""
    return settings


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


def plan_posts(server: Any) -> list[str]:
    return [mode for method, path, mode in server.requests if path == "/api/plan"]


BODY = {"plan_type": "routing_optimization", "snapshot": {}}


# --- answers --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["good", "bare"])
def test_a_valid_plan_bare_or_wrapped_is_accepted_at_once(
    fast_sira: Any, mode: str
) -> None:
    with running(mode=mode) as server:
        fast_sira.SIRA_URL = server.url
        answer = sira_client.request_plan(BODY)
    assert answer.attempts == 1
    assert answer.plan["summary"].startswith("SIRA dev server")
    assert answer.plan["approval_required"] is False
    assert ("plan" in answer.raw) is (mode == "good")
    assert plan_posts(server) == [mode]


def test_slow_answers_time_out_three_times(fast_sira: Any) -> None:
    with running(mode="slow", slow_seconds=3) as server:
        fast_sira.SIRA_URL = server.url
        started = time.perf_counter()
        with pytest.raises(sira_client.SiraUnavailable) as caught:
            sira_client.request_plan(BODY)
        elapsed = time.perf_counter() - started
    assert caught.value.reason == "timeout"
    assert caught.value.attempts == 3
    assert plan_posts(server) == ["slow"] * 3
    assert 1.5 <= elapsed < 3  # three 0.5 s timeouts, not one 3 s answer


def test_server_errors_are_retried_then_given_up(fast_sira: Any) -> None:
    with running(mode="error") as server:
        fast_sira.SIRA_URL = server.url
        with pytest.raises(sira_client.SiraUnavailable) as caught:
            sira_client.request_plan(BODY)
    assert (caught.value.reason, caught.value.attempts) == ("server_error", 3)
    assert plan_posts(server) == ["error"] * 3


def test_retries_follow_the_setting(fast_sira: Any) -> None:
    fast_sira.SIRA_RETRIES = 0
    with running(mode="error") as server:
        fast_sira.SIRA_URL = server.url
        with pytest.raises(sira_client.SiraUnavailable) as caught:
            sira_client.request_plan(BODY)
    assert caught.value.attempts == 1
    assert len(plan_posts(server)) == 1


@pytest.mark.parametrize("mode", ["garbage", "schema"])
def test_a_200_that_is_not_a_plan_is_invalid_and_not_retried(
    fast_sira: Any, mode: str
) -> None:
    with running(mode=mode) as server:
        fast_sira.SIRA_URL = server.url
        with pytest.raises(sira_client.SiraUnavailable) as caught:
            sira_client.request_plan(BODY)
    assert (caught.value.reason, caught.value.attempts) == ("invalid_response", 1)
    assert plan_posts(server) == [mode]


def test_the_mode_can_be_picked_per_request(fast_sira: Any) -> None:
    with running(mode="good") as server:
        fast_sira.SIRA_URL = server.url
        with pytest.raises(sira_client.SiraUnavailable) as caught:
            sira_client.call(
                "POST", "/api/plan", body=BODY, headers={"X-Sira-Mode": "error"}
            )
        data, attempts, _ms = sira_client.call("POST", "/api/plan", body=BODY)
    assert caught.value.reason == "server_error"
    assert attempts == 1 and "plan" in data
    assert plan_posts(server) == ["error", "error", "error", "good"]


def test_connection_refused_is_retried_then_given_up(fast_sira: Any) -> None:
    fast_sira.SIRA_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(sira_client.SiraUnavailable) as caught:
        sira_client.request_plan(BODY)
    assert (caught.value.reason, caught.value.attempts) == ("connection_error", 3)


@pytest.mark.parametrize(
    ("plan", "error"),
    [
        ({"summary": "x", "steps": [], "approval_required": False}, "total_amount"),
        (
            {
                "summary": "x",
                "steps": [{"action": "drop_tables"}],
                "total_amount": 1,
                "approval_required": False,
            },
            "steps/0/action",
        ),
        (
            {
                "summary": "x",
                "steps": [],
                "total_amount": -5,
                "approval_required": False,
            },
            "total_amount",
        ),
        (
            {
                "summary": "x",
                "steps": [],
                "total_amount": "1e9",
                "approval_required": False,
            },
            "total_amount",
        ),
        (
            {
                "summary": "x",
                "steps": [],
                "total_amount": 1,
                "approval_required": "yes",
            },
            "approval_required",
        ),
        ([], "(root)"),
    ],
)
def test_the_schema_names_what_is_wrong(plan: Any, error: str) -> None:
    with pytest.raises(ValueError) as caught:
        sira_client.unwrap_plan({"plan": plan})
    assert str(caught.value).startswith(error) or f"'{error}'" in str(caught.value)


def test_nan_and_oversized_bodies_are_not_json(fast_sira: Any) -> None:
    import httpx

    response = httpx.Response(200, content=b'{"total_amount": NaN}')
    with pytest.raises(ValueError, match="NaN"):
        sira_client._read(response)
    big = httpx.Response(200, content=b" " * (sira_client.MAX_RESPONSE_BYTES + 1))
    with pytest.raises(ValueError, match="larger"):
        sira_client._read(big)


# --- suggestions ----------------------------------------------------------------------


def test_suggestions_are_read_and_checked(fast_sira: Any) -> None:
    with running() as server:
        fast_sira.SIRA_URL = server.url
        items = sira_client.fetch_suggestions()
        with pytest.raises(sira_client.SiraUnavailable) as caught:
            server.mode = "schema"
            sira_client.fetch_suggestions()
    assert items[0]["action"]["action_type"] == "generate_plan"
    assert caught.value.reason == "invalid_response"


def test_suggestions_are_asked_once_only(fast_sira: Any) -> None:
    with running(mode="error") as server:
        fast_sira.SIRA_URL = server.url
        with pytest.raises(sira_client.SiraUnavailable) as caught:
            sira_client.fetch_suggestions()
    assert caught.value.attempts == 1
    assert len(server.requests) == 1


# --- HTTPS and mTLS -------------------------------------------------------------------


@pytest.fixture
def mtls_server(pki: PKI) -> Iterator[Any]:
    tls = server_tls(str(pki.server_cert), str(pki.server_key), str(pki.ca))
    with running(tls=tls) as server:
        yield server


def test_https_verifies_the_server_against_the_ca_bundle(
    fast_sira: Any, pki: PKI
) -> None:
    tls = server_tls(str(pki.server_cert), str(pki.server_key), None)
    with running(tls=tls) as server:
        fast_sira.SIRA_URL = server.url
        with pytest.raises(sira_client.SiraUnavailable) as caught:
            sira_client.request_plan(BODY)  # the system CAs do not know ours
        fast_sira.SIRA_CA_BUNDLE = str(pki.ca)
        answer = sira_client.request_plan(BODY)
    assert caught.value.reason == "tls_error"
    assert answer.attempts == 1
    assert server.url.startswith("https://")


def test_mtls_with_the_client_certificate_is_served(
    fast_sira: Any, pki: PKI, mtls_server: Any
) -> None:
    fast_sira.SIRA_URL = mtls_server.url
    fast_sira.SIRA_CA_BUNDLE = str(pki.ca)
    fast_sira.SIRA_CLIENT_CERT = str(pki.client_cert)
    fast_sira.SIRA_CLIENT_KEY = str(pki.client_key)
    answer = sira_client.request_plan(BODY)
    assert answer.attempts == 1
    assert plan_posts(mtls_server) == ["good"]


@pytest.mark.parametrize("cert", [None, "stranger"])
def test_mtls_without_an_accepted_certificate_is_refused(
    fast_sira: Any, pki: PKI, mtls_server: Any, cert: str | None
) -> None:
    fast_sira.SIRA_URL = mtls_server.url
    fast_sira.SIRA_CA_BUNDLE = str(pki.ca)
    if cert:
        fast_sira.SIRA_CLIENT_CERT = str(pki.stranger_cert)
        fast_sira.SIRA_CLIENT_KEY = str(pki.stranger_key)
    with pytest.raises(sira_client.SiraUnavailable) as caught:
        sira_client.request_plan(BODY)
    assert caught.value.reason == "tls_error"
    assert caught.value.attempts == 3
    assert plan_posts(mtls_server) == []  # no request got through


# --- the command line -----------------------------------------------------------------


def _wait_for(port: int, proc: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)  # readiness polling of a starting process
    raise AssertionError("the dev server did not start")


@pytest.mark.parametrize("tls", [False, True])
def test_the_command_line_server(fast_sira: Any, pki: PKI, tls: bool) -> None:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "plans.sira_devserver",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--mode",
        "bare",
    ]
    if tls:
        args += [
            "--cert",
            str(pki.server_cert),
            "--key",
            str(pki.server_key),
            "--client-ca",
            str(pki.ca),
        ]
        fast_sira.SIRA_CA_BUNDLE = str(pki.ca)
        fast_sira.SIRA_CLIENT_CERT = str(pki.client_cert)
        fast_sira.SIRA_CLIENT_KEY = str(pki.client_key)
    proc = subprocess.Popen(
        args,
        cwd=Path(django_settings.BASE_DIR),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(port, proc)
        fast_sira.SIRA_URL = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        answer = sira_client.request_plan(BODY)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "plan" not in answer.raw and answer.plan["steps"] == []


# --- the fallback, end to end: generate-plan with SIRA configured ---------------------


def sira_plan(client: Any, capture: Any, settings: Any, url: str) -> Any:
    settings.SIRA_URL = url
    resp, plan = generate(client, capture)
    assert resp.status_code == 202, resp.json()
    assert plan is not None
    assert plan.status == "pending", plan.details
    return plan


def test_a_good_answer_makes_a_sira_plan(
    db: None, pay_admin: Any, fast_sira: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dear, cheap = rails()
    with running() as server:
        plan = sira_plan(
            pay_admin, django_capture_on_commit_callbacks, fast_sira, server.url
        )
    assert plan.source == "sira"
    assert plan.planner_version == "sira-devserver/1"
    assert plan.fallback_reason == ""
    assert plan.details["sira"] == {"attempts": 1}
    assert "sira_ms" in plan.details["timings"]
    assert "planner_ms" not in plan.details["timings"]
    (step,) = plan.steps
    assert (step["from_bank_id"], step["to_bank_id"]) == (str(dear.id), str(cheap.id))
    assert PlanStep.objects.get(plan=plan).fields["count"] == 4
    assert plan.payout_count == 4
    # SIRA got the snapshot whose hash the plan records
    answer = crypto.decrypt_json(Plan.objects.get(pk=plan.id).plan_data)
    assert generation.snapshot_hash(answer["snapshot"]) == plan.input_hash
    assert answer["answer"]["plan"]["planner_version"] == "sira-devserver/1"
    assert plan_posts(server) == ["good"]


@pytest.mark.parametrize(
    ("mode", "reason", "attempts"),
    [
        ("slow", "timeout", 3),
        ("error", "server_error", 3),
        ("schema", "invalid_response", 1),
        ("garbage", "invalid_response", 1),
    ],
)
def test_a_failing_sira_falls_back_to_the_local_planner(
    db: None,
    pay_admin: Any,
    fast_sira: Any,
    django_capture_on_commit_callbacks: Any,
    mode: str,
    reason: str,
    attempts: int,
) -> None:
    rails()
    with running(mode=mode, slow_seconds=2) as server:
        plan = sira_plan(
            pay_admin, django_capture_on_commit_callbacks, fast_sira, server.url
        )
    assert plan.source == "heuristic"
    assert plan.planner_version == PLANNER_VERSION
    assert plan.fallback_reason == reason
    assert plan.details["sira"]["attempts"] == attempts
    assert len(plan_posts(server)) == attempts
    assert {"sira_ms", "planner_ms"} <= set(plan.details["timings"])
    assert [s["action"] for s in plan.steps] == ["reroute_payouts"]
    recorded = OpsActionLog.objects.get(action_type="record_plan")
    assert recorded.details["fallback_reason"] == reason


def test_connection_refused_falls_back(
    db: None, pay_admin: Any, fast_sira: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rails()
    url = f"http://127.0.0.1:{free_port()}"
    plan = sira_plan(pay_admin, django_capture_on_commit_callbacks, fast_sira, url)
    assert (plan.source, plan.fallback_reason) == ("heuristic", "connection_error")
    assert plan.details["sira"]["attempts"] == 3


@pytest.mark.parametrize("with_cert", [False, True])
def test_mtls_decides_between_sira_and_the_fallback(
    db: None,
    pay_admin: Any,
    fast_sira: Any,
    pki: PKI,
    mtls_server: Any,
    django_capture_on_commit_callbacks: Any,
    with_cert: bool,
) -> None:
    rails()
    fast_sira.SIRA_CA_BUNDLE = str(pki.ca)
    if with_cert:
        fast_sira.SIRA_CLIENT_CERT = str(pki.client_cert)
        fast_sira.SIRA_CLIENT_KEY = str(pki.client_key)
    plan = sira_plan(
        pay_admin, django_capture_on_commit_callbacks, fast_sira, mtls_server.url
    )
    if with_cert:
        assert (plan.source, plan.fallback_reason) == ("sira", "")
    else:
        assert plan.source == "heuristic"
        assert plan.fallback_reason == "tls_error"
