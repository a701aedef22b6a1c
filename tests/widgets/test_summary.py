"""GET /api/metrics/summary: the KPIs, their exact values, their cost."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from payouts.choices import PayoutStatus
from tests.factories import BankProfileFactory, PayoutFactory, TreasuryAccountFactory
from tests.helpers import post_action
from widgets.selectors import kpi_summary

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cache(settings: Any) -> None:
    settings.KPI_CACHE_SECONDS = 0


@pytest.fixture
def rails() -> dict[str, Any]:
    now = timezone.now()
    a = BankProfileFactory(name="Ecobank", status="green")
    b = BankProfileFactory(name="BICIS", status="red", circuit_state="open")
    TreasuryAccountFactory(
        bank_profile=a, currency="XOF", balance="1000000", min_float="250000"
    )
    TreasuryAccountFactory(
        bank_profile=b, currency="XOF", balance="100000", min_float="200000"
    )
    TreasuryAccountFactory(
        bank_profile=a, currency="USD", balance="5000.50", min_float="1000"
    )
    old = now - timedelta(hours=30)
    rows = [
        (PayoutStatus.PENDING, "XOF", "100", now),
        (PayoutStatus.PENDING, "USD", "10", old),
        (PayoutStatus.PROCESSING, "XOF", "100", now),
        (PayoutStatus.FAILED, "XOF", "100", old),
        (PayoutStatus.SENT, "XOF", "300", now),
        (PayoutStatus.SENT, "XOF", "300", old),  # sent before the window
        (PayoutStatus.SETTLED, "XOF", "1500", now),
        (PayoutStatus.SETTLED, "XOF", "2500", now - timedelta(hours=23)),
        (PayoutStatus.SETTLED, "USD", "12.25", now),
        (PayoutStatus.SETTLED, "USD", "99", old),  # settled before the window
    ]
    for status, currency, amount, updated in rows:
        PayoutFactory(
            bank_profile=a,
            status=status,
            currency=currency,
            amount=Decimal(amount),
            updated_at=updated,
            created_at=updated,
        )
    return {"a": a, "b": b}


def test_summary_figures(pay_admin: Any, rails: dict[str, Any]) -> None:
    resp = pay_admin.get("/api/metrics/summary")
    assert resp.status_code == 200
    body = resp.json()
    assert body["ok"] is True
    s = body["summary"]
    assert s["computed_at"].endswith("Z")
    assert s["treasury"] == [
        {
            "currency": "USD",
            "balance": "5000.50",
            "float": "1000.00",
            "headroom": "4000.50",
            "accounts": 1,
            "accounts_below_float": 0,
        },
        {
            "currency": "XOF",
            "balance": "1100000.00",
            "float": "450000.00",
            "headroom": "650000.00",
            "accounts": 2,
            "accounts_below_float": 1,
        },
    ]
    p = s["payouts"]
    assert (p["pending"], p["processing"], p["failed"]) == (2, 1, 1)
    assert (p["sent_24h"], p["settled_24h"]) == (4, 3)
    assert p["settled_amount_24h"] == [
        {"currency": "USD", "amount": "12.25"},
        {"currency": "XOF", "amount": "4000.00"},
    ]
    banks = {b["name"]: b for b in s["banks"]}
    assert banks["BICIS"]["status"] == "red"
    assert banks["BICIS"]["circuit_state"] == "open"
    assert banks["BICIS"]["names"] == {"en": "BICIS", "fr": "BICIS"}
    assert banks["Ecobank"]["paused"] is False
    assert banks["Ecobank"]["last_health_check_at"].endswith("Z")
    assert s["freezes"] == {"global": False, "count": 0, "active": []}
    assert s["approvals"]["pending"] == 0 and len(s["approvals"]["revision"]) == 16
    assert s["suggestions"]["open"] == 0


def test_freezes_pauses_and_approvals_show(
    pay_admin: Any, rails: dict[str, Any]
) -> None:
    bank = rails["a"]
    body = {"scope": {"bank_profile_id": str(bank.id)}, "reason": "recon gap"}
    assert post_action(pay_admin, "freeze-payouts", body).status_code == 200
    assert (
        post_action(
            pay_admin,
            "pause-bank",
            {"bank_profile_id": str(rails["b"].id), "reason": "timeouts"},
        ).status_code
        == 200
    )
    resp = post_action(
        pay_admin, "freeze-payouts", {"scope": "global", "reason": "incident"}
    )
    assert resp.status_code == 202  # waiting for signatures

    s = pay_admin.get("/api/metrics/summary").json()["summary"]
    assert s["freezes"]["count"] == 1 and s["freezes"]["global"] is False
    (freeze,) = s["freezes"]["active"]
    assert freeze["scope"] == "bank"
    assert freeze["bank_profile_id"] == str(bank.id)
    assert freeze["reason"] == "recon gap"
    banks = {b["id"]: b for b in s["banks"]}
    assert banks[str(bank.id)]["frozen"] is True
    assert banks[str(rails["b"].id)]["paused"] is True
    assert s["approvals"]["pending"] == 1


def test_settled_window_moves_with_time(rails: dict[str, Any]) -> None:
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        later = kpi_summary()
    # the settled payout of 23 h ago has left the 24 h window
    assert later["payouts"]["settled_amount_24h"] == [
        {"currency": "USD", "amount": "12.25"},
        {"currency": "XOF", "amount": "1500.00"},
    ]


def test_summary_costs_a_fixed_number_of_queries(
    django_assert_max_num_queries: Any, rails: dict[str, Any]
) -> None:
    for _ in range(20):
        PayoutFactory(bank_profile=rails["b"], status=PayoutStatus.FAILED)
    with django_assert_max_num_queries(7):
        kpi_summary()


def test_every_role_reads_it_outsiders_do_not(
    ops: Any, finance_ops: Any, outsider: Any, anonymous: Any
) -> None:
    assert ops.get("/api/metrics/summary").status_code == 200
    assert finance_ops.get("/api/metrics/summary").status_code == 200
    resp = outsider.get("/api/metrics/summary")
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    resp = anonymous.get("/api/metrics/summary")
    assert resp.status_code == 401
    assert resp.json()["ok"] is False


def test_cached_summary_is_dropped_when_an_action_commits(
    settings: Any,
    pay_admin: Any,
    rails: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.core.cache import cache

    from widgets.selectors import summary_cache_key

    settings.KPI_CACHE_SECONDS = 60
    cache.delete(summary_cache_key())
    first = pay_admin.get("/api/metrics/summary").json()["summary"]
    # a change outside the runner (the dispatcher's) waits for the cache
    PayoutFactory(bank_profile=rails["a"], status=PayoutStatus.FAILED)
    again = pay_admin.get("/api/metrics/summary").json()["summary"]
    assert again == first
    # an ops action drops it when it commits
    with django_capture_on_commit_callbacks(execute=True):
        post_action(
            pay_admin,
            "pause-bank",
            {"bank_profile_id": str(rails["a"].id), "reason": "x"},
        )
    fresh = pay_admin.get("/api/metrics/summary").json()["summary"]
    assert fresh["payouts"]["failed"] == first["payouts"]["failed"] + 1
    assert any(b["paused"] for b in fresh["banks"])
    cache.delete(summary_cache_key())
