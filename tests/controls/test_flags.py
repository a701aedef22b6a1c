"""Feature flags: the pure evaluation (controls/flags.py), POST set-flag,
GET /api/ops/flags and GET /api/ops/flags/<name>?subject=<id>."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from controls.flags import FlagState, bucket, evaluate
from controls.models import TreasuryControl
from controls.tasks import expire_controls
from tests.helpers import assert_error, audit_rows, post_action

NOW = timezone.now()
SUBJECTS = [f"user-{i}" for i in range(100_000)]


def flag(**kw: Any) -> FlagState:
    return FlagState(**{"name": "checkout-v2", "enabled": True, **kw})


# --- the pure function ------------------------------------------------------


def test_bucket_is_the_documented_formula() -> None:
    digest = hashlib.sha256(b"checkout-v2:user-42").digest()
    assert (
        bucket("checkout-v2", "user-42") == int.from_bytes(digest[:8], "big") % 10_000
    )
    # pinned: changing the formula would move every subject in every rollout
    assert bucket("checkout-v2", "user-42") == 2945


def test_the_same_subject_always_gets_the_same_answer() -> None:
    state = flag(percentage=Decimal(50))
    first = [evaluate(state, s, now=NOW) for s in SUBJECTS[:2000]]
    # a fresh state object (another process) answers the same
    again = [
        evaluate(flag(percentage=Decimal(50)), s, now=NOW) for s in SUBJECTS[:2000]
    ]
    assert first == again
    assert {d.reason for d in first} == {"rollout"}
    assert {d.enabled for d in first} == {True, False}


@pytest.mark.parametrize("percentage", ["5", "33.33", "50", "90"])
def test_rollout_share_is_within_one_point(percentage: str) -> None:
    state = flag(percentage=Decimal(percentage))
    enabled = sum(evaluate(state, s, now=NOW).enabled for s in SUBJECTS)
    share = enabled * 100 / len(SUBJECTS)
    assert abs(share - float(percentage)) <= 1.0, share


def test_zero_and_hundred_percent() -> None:
    assert not any(
        evaluate(flag(percentage=Decimal(0)), s, now=NOW).enabled
        for s in SUBJECTS[:5000]
    )
    assert all(
        evaluate(flag(percentage=Decimal(100)), s, now=NOW).enabled
        for s in SUBJECTS[:5000]
    )


def test_rollout_is_monotonic() -> None:
    at_20 = {
        s
        for s in SUBJECTS[:20_000]
        if evaluate(flag(percentage=Decimal(20)), s, now=NOW).enabled
    }
    at_50 = {
        s
        for s in SUBJECTS[:20_000]
        if evaluate(flag(percentage=Decimal(50)), s, now=NOW).enabled
    }
    assert at_20 < at_50  # everyone in at 20 % is in at 50 %, and more
    assert 3000 < len(at_20) < 5000


def test_flags_bucket_independently() -> None:
    a = {s for s in SUBJECTS[:10_000] if bucket("flag-a", s) < 5000}
    b = {s for s in SUBJECTS[:10_000] if bucket("flag-b", s) < 5000}
    overlap = len(a & b) / len(a)
    assert 0.45 < overlap < 0.55  # not the same half of the users


def test_deny_wins_then_allow_then_disabled() -> None:
    state = flag(
        enabled=False,
        percentage=Decimal(100),
        allow=frozenset({"vip", "both"}),
        deny=frozenset({"blocked", "both"}),
    )
    assert evaluate(state, "both", now=NOW) == evaluate(state, "blocked", now=NOW)
    assert evaluate(state, "both", now=NOW).reason == "deny"
    assert evaluate(state, "both", now=NOW).enabled is False
    assert (
        evaluate(state, "vip", now=NOW).enabled,
        evaluate(state, "vip", now=NOW).reason,
    ) == (True, "allow")
    assert (
        evaluate(state, "anyone", now=NOW).enabled,
        evaluate(state, "anyone", now=NOW).reason,
    ) == (False, "disabled")
    on = flag(percentage=Decimal(100), deny=frozenset({"blocked"}))
    assert evaluate(on, "blocked", now=NOW).enabled is False
    assert evaluate(on, "anyone", now=NOW).reason == "rollout"


def test_an_expired_flag_is_off_for_everyone() -> None:
    state = flag(
        percentage=Decimal(100),
        allow=frozenset({"vip"}),
        expires_at=NOW - timedelta(seconds=1),
    )
    for subject in ("vip", "anyone"):
        decision = evaluate(state, subject, now=NOW)
        assert (decision.enabled, decision.reason) == (False, "expired")
    live = flag(percentage=Decimal(100), expires_at=NOW + timedelta(seconds=1))
    assert evaluate(live, "anyone", now=NOW).enabled is True


# --- POST /api/ops/set-flag -------------------------------------------------


def body(**extra: Any) -> dict[str, Any]:
    return {
        "name": "checkout-v2",
        "enabled": True,
        "percentage": "33.33",
        "allow": ["vip-1", "vip-2"],
        "deny": ["blocked-1"],
        **extra,
    }


def control_rows() -> list[tuple[Any, ...]]:
    return list(
        TreasuryControl.objects.order_by("key").values_list(
            "key", "enabled", "value", "expires_at", "updated_at"
        )
    )


@pytest.mark.django_db
def test_set_flag_stores_the_control_and_audits(pay_admin: APIClient) -> None:
    resp = post_action(pay_admin, "set-flag", body(allow=["vip-2", "vip-1", "vip-2"]))

    assert resp.status_code == 200, resp.json()
    out = resp.json()
    control = TreasuryControl.objects.get(key="feature:checkout-v2")
    assert control.enabled is True
    assert control.value == {
        "percentage": "33.33",
        "allow": ["vip-1", "vip-2"],
        "deny": ["blocked-1"],
    }
    assert control.updated_by == "alice"
    assert out["flag"] == {
        "name": "checkout-v2",
        "key": "feature:checkout-v2",
        "enabled": True,
        "active": True,
        "percentage": "33.33",
        "allow": ["vip-1", "vip-2"],
        "deny": ["blocked-1"],
        "expires_at": None,
        "updated_by": "alice",
        # as the control row holds it, in UTC with a Z (DRF's rendering)
        "updated_at": control.updated_at.isoformat().replace("+00:00", "Z"),
    }
    assert out["control"]["key"] == "feature:checkout-v2"
    [row] = audit_rows("set_flag")
    assert (row.status, row.actor_id, row.actor_role) == (
        "executed",
        "alice",
        "pay_admin",
    )
    assert row.target == {"name": "checkout-v2", "control_key": "feature:checkout-v2"}
    assert row.details["previous"] is None
    assert row.details["new"]["percentage"] == "33.33"
    assert out["log"]["id"] == str(row.id)

    # a second call replaces the flag and keeps what it replaced
    resp = post_action(
        pay_admin,
        "set-flag",
        {"name": "checkout-v2", "enabled": False, "percentage": 5},
    )
    assert resp.status_code == 200, resp.json()
    control.refresh_from_db()
    assert control.enabled is False
    assert control.value == {"percentage": "5.00", "allow": [], "deny": []}
    second = audit_rows("set_flag")[-1]
    assert second.details["previous"]["allow"] == ["vip-1", "vip-2"]
    assert second.details["previous"]["enabled"] is True
    assert TreasuryControl.objects.filter(key__startswith="feature:").count() == 1


@pytest.mark.django_db
def test_finance_ops_may_set_a_flag_and_percentage_defaults_to_100(
    finance_ops: APIClient,
) -> None:
    resp = post_action(finance_ops, "set-flag", {"name": "beta", "enabled": True})
    assert resp.status_code == 200, resp.json()
    assert resp.json()["flag"]["percentage"] == "100.00"
    assert audit_rows("set_flag")[0].actor_role == "finance_ops"


@pytest.mark.django_db
def test_other_roles_are_refused(ops: APIClient, outsider: APIClient) -> None:
    for client, sub in ((ops, "chloe"), (outsider, "mallory")):
        assert_error(post_action(client, "set-flag", body()), 403, "forbidden")
        [row] = audit_rows("set_flag", actor_id=sub)
        assert row.status == "rejected"
        assert row.target == {"name": "checkout-v2"}
    assert not TreasuryControl.objects.exists()


@pytest.mark.django_db
def test_set_flag_replays(pay_admin: APIClient) -> None:
    first = post_action(pay_admin, "set-flag", body(), key="flag-1")
    again = post_action(pay_admin, "set-flag", body(), key="flag-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(audit_rows("set_flag")) == 1
    assert_error(
        post_action(pay_admin, "set-flag", body(percentage="50"), key="flag-1"),
        422,
        "idempotency_key_reused",
    )
    assert TreasuryControl.objects.get().value["percentage"] == "33.33"


@pytest.mark.django_db
def test_set_flag_needs_an_idempotency_key(pay_admin: APIClient) -> None:
    assert_error(
        post_action(pay_admin, "set-flag", body(), key=None),
        400,
        "idempotency_key_required",
    )
    assert not TreasuryControl.objects.exists()


BAD = [
    pytest.param({"name": None}, {"name"}, id="name-null"),
    pytest.param({"name": ""}, {"name"}, id="name-blank"),
    pytest.param({"name": "Checkout V2"}, {"name"}, id="name-not-slug"),
    pytest.param({"name": "x" * 65}, {"name"}, id="name-too-long"),
    pytest.param({"name": 12}, {"name"}, id="name-int"),
    pytest.param({"enabled": "yes"}, {"enabled"}, id="enabled-string"),
    pytest.param({"enabled": 1}, {"enabled"}, id="enabled-int"),
    pytest.param({"enabled": None}, {"enabled"}, id="enabled-null"),
    pytest.param({"percentage": "100.01"}, {"percentage"}, id="pct-over"),
    pytest.param({"percentage": -1}, {"percentage"}, id="pct-negative"),
    pytest.param({"percentage": "33.333"}, {"percentage"}, id="pct-3-decimals"),
    pytest.param({"percentage": True}, {"percentage"}, id="pct-bool"),
    pytest.param({"percentage": "half"}, {"percentage"}, id="pct-text"),
    pytest.param({"percentage": "NaN"}, {"percentage"}, id="pct-nan"),
    pytest.param({"allow": "vip-1"}, {"allow"}, id="allow-string"),
    pytest.param({"allow": [1, 2]}, {"allow"}, id="allow-ints"),
    pytest.param({"deny": [None]}, {"deny"}, id="deny-null-item"),
    pytest.param({"deny": ["x" * 256]}, {"deny"}, id="deny-long-id"),
    pytest.param({"deny": [f"s{i}" for i in range(1001)]}, {"deny"}, id="deny-huge"),
    pytest.param({"expires_at": "2001-01-01T00:00:00Z"}, {"expires_at"}, id="past"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("override", "fields"), BAD)
def test_bad_input_is_400_and_changes_nothing(
    pay_admin: APIClient, override: dict[str, Any], fields: set[str]
) -> None:
    before = control_rows()
    resp = post_action(pay_admin, "set-flag", body(**override), key="bad")
    error = assert_error(resp, 400, "validation_error")
    assert set(error["fields"]) == fields
    assert control_rows() == before
    [row] = audit_rows("set_flag")
    assert row.status == "rejected"
    # not stored under the key: the corrected call with the same key runs
    assert post_action(pay_admin, "set-flag", body(), key="bad").status_code == 200


@pytest.mark.django_db
def test_missing_fields_are_400(pay_admin: APIClient) -> None:
    error = assert_error(
        post_action(pay_admin, "set-flag", {}), 400, "validation_error"
    )
    assert set(error["fields"]) == {"name", "enabled"}


# --- GET /api/ops/flags/<name>?subject= -------------------------------------


def evaluated(client: APIClient, name: str, subject: str) -> dict[str, Any]:
    resp = client.get(f"/api/ops/flags/{name}", {"subject": subject})
    assert resp.status_code == 200, resp.json()
    return resp.json()


@pytest.mark.django_db
def test_evaluate_answers_like_the_pure_function(
    pay_admin: APIClient, ops: APIClient
) -> None:
    post_action(pay_admin, "set-flag", body(percentage="50"))
    state = flag(
        percentage=Decimal(50),
        allow=frozenset({"vip-1", "vip-2"}),
        deny=frozenset({"blocked-1"}),
    )
    seen = set()
    for subject in [*SUBJECTS[:40], "vip-1", "blocked-1"]:
        out = evaluated(ops, "checkout-v2", subject)  # every role may read
        expected = evaluate(state, subject, now=timezone.now())
        assert out == {
            "ok": True,
            "flag": "checkout-v2",
            "subject": subject,
            "enabled": expected.enabled,
            "reason": expected.reason,
        }
        assert evaluated(ops, "checkout-v2", subject) == out  # stable
        seen.add((out["enabled"], out["reason"]))
    assert seen == {
        (True, "rollout"),
        (False, "rollout"),
        (True, "allow"),
        (False, "deny"),
    }


@pytest.mark.django_db
def test_a_disabled_flag_is_off_except_for_the_allow_list(pay_admin: APIClient) -> None:
    post_action(pay_admin, "set-flag", body(enabled=False, percentage="100"))
    assert evaluated(pay_admin, "checkout-v2", "user-1")["reason"] == "disabled"
    assert evaluated(pay_admin, "checkout-v2", "user-1")["enabled"] is False
    assert evaluated(pay_admin, "checkout-v2", "vip-1")["enabled"] is True


@pytest.mark.django_db
def test_an_expired_flag_is_off_at_once_and_after_beat(pay_admin: APIClient) -> None:
    start = timezone.now()
    until = start + timedelta(minutes=5)
    with time_machine.travel(start, tick=False) as traveller:
        resp = post_action(
            pay_admin, "set-flag", body(percentage="100", expires_at=until.isoformat())
        )
        assert resp.status_code == 200, resp.json()
        assert evaluated(pay_admin, "checkout-v2", "vip-1")["enabled"] is True
        assert evaluated(pay_admin, "checkout-v2", "user-1")["enabled"] is True

        traveller.move_to(until)
        for subject in ("vip-1", "user-1"):
            out = evaluated(pay_admin, "checkout-v2", subject)
            assert (out["enabled"], out["reason"]) == (False, "expired")
        [listed] = pay_admin.get("/api/ops/flags").json()["results"]
        assert listed["active"] is False

        assert expire_controls() == 1  # beat closes it; the answer stays
        out = evaluated(pay_admin, "checkout-v2", "user-1")
        assert (out["enabled"], out["reason"]) == (False, "expired")


@pytest.mark.django_db
def test_unknown_flag_is_404(pay_admin: APIClient) -> None:
    for name in ("nope", "Not%20A%20Slug"):
        resp = pay_admin.get(f"/api/ops/flags/{name}", {"subject": "u1"})
        assert_error(resp, 404, "flag_not_found")


@pytest.mark.django_db
def test_subject_is_required(pay_admin: APIClient) -> None:
    post_action(pay_admin, "set-flag", body())
    for params in ({}, {"subject": ""}, {"subject": "x" * 256}):
        resp = pay_admin.get("/api/ops/flags/checkout-v2", params)
        error = assert_error(resp, 400, "validation_error")
        assert set(error["fields"]) == {"subject"}


@pytest.mark.django_db
def test_flags_need_a_known_role(outsider: APIClient, anonymous: APIClient) -> None:
    assert anonymous.get("/api/ops/flags").status_code == 401
    assert outsider.get("/api/ops/flags").status_code == 403
    assert outsider.get("/api/ops/flags/x", {"subject": "a"}).status_code == 403


@pytest.mark.django_db
def test_flag_list(pay_admin: APIClient, ops: APIClient, bank: Any) -> None:
    post_action(pay_admin, "set-flag", body())
    post_action(pay_admin, "set-flag", body(name="alpha", enabled=False))
    post_action(
        pay_admin, "pause-bank", {"bank_profile_id": str(bank.id), "reason": "x"}
    )

    out = ops.get("/api/ops/flags").json()

    assert out["count"] == 2  # the bank pause is not a flag
    assert [f["name"] for f in out["results"]] == ["alpha", "checkout-v2"]
    assert [f["active"] for f in out["results"]] == [False, True]
    assert out["results"][1]["deny"] == ["blocked-1"]
