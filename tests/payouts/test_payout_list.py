"""GET /api/ops/payouts: filters, the DESIGN §6 shapes, pinned query counts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from payouts.choices import PayoutStatus
from tests.factories import BankProfileFactory, PayoutFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def listing(client: APIClient, query: str = "") -> dict[str, Any]:
    resp = client.get(f"/api/ops/payouts{query}")
    assert resp.status_code == 200, resp.json()
    assert resp["Content-Type"].startswith("application/json")
    return resp.json()


def ids(body: dict[str, Any]) -> set[str]:
    return {p["id"] for p in body["results"]}


def assert_utc_iso(value: str) -> datetime:
    """ISO 8601 in UTC, rendered with a ``Z`` as everywhere in the API."""
    assert value.endswith("Z"), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0)
    return parsed


@pytest.fixture
def payouts() -> dict[str, Any]:
    bank_a = BankProfileFactory()
    bank_b = BankProfileFactory()
    return {
        "bank_a": bank_a,
        "bank_b": bank_b,
        "failed_a": PayoutFactory(bank_profile=bank_a, status=PayoutStatus.FAILED),
        "failed_b": PayoutFactory(
            bank_profile=bank_b, status=PayoutStatus.FAILED, currency="USD"
        ),
        "pending_a": PayoutFactory(bank_profile=bank_a, status=PayoutStatus.PENDING),
        "sent_b": PayoutFactory(
            bank_profile=bank_b, status=PayoutStatus.SENT, currency="USD"
        ),
    }


def test_list_shape(ops: APIClient) -> None:
    payout = PayoutFactory(amount=Decimal("1234.50"), currency="XOF")

    body = listing(ops)

    assert body["ok"] is True
    assert body["count"] == 1
    assert body["next"] is None
    [row] = body["results"]
    assert row["id"] == str(payout.id)
    assert uuid.UUID(row["id"])
    assert row["amount"] == "1234.50"
    assert isinstance(row["amount"], str)
    assert row["currency"] == "XOF"
    assert row["status"] == "pending"
    assert row["disputed"] is False
    assert row["bank_profile_id"] == str(payout.bank_profile_id)
    assert_utc_iso(row["created_at"])
    assert_utc_iso(row["updated_at"])
    assert datetime.fromisoformat(row["created_at"]) == payout.created_at


def test_times_are_utc_whatever_was_stored(ops: APIClient) -> None:
    dakar_noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    PayoutFactory(created_at=dakar_noon, updated_at=dakar_noon)
    [row] = listing(ops)["results"]
    assert row["created_at"] == "2026-03-01T12:00:00Z"


def test_every_role_may_list(
    pay_admin: APIClient, finance_ops: APIClient, ops: APIClient
) -> None:
    PayoutFactory()
    for client in (pay_admin, finance_ops, ops):
        assert listing(client)["count"] == 1


def test_filter_by_status(ops: APIClient, payouts: dict[str, Any]) -> None:
    assert ids(listing(ops, "?status=failed")) == {
        str(payouts["failed_a"].id),
        str(payouts["failed_b"].id),
    }
    assert ids(listing(ops, "?status=failed&status=pending")) == {
        str(payouts["failed_a"].id),
        str(payouts["failed_b"].id),
        str(payouts["pending_a"].id),
    }
    assert listing(ops, "?status=settled")["count"] == 0


def test_filter_by_bank_and_currency(ops: APIClient, payouts: dict[str, Any]) -> None:
    bank_a = payouts["bank_a"]
    assert ids(listing(ops, f"?bank_profile_id={bank_a.id}")) == {
        str(payouts["failed_a"].id),
        str(payouts["pending_a"].id),
    }
    assert ids(listing(ops, "?currency=USD")) == {
        str(payouts["failed_b"].id),
        str(payouts["sent_b"].id),
    }
    assert ids(listing(ops, f"?status=failed&bank_profile_id={bank_a.id}")) == {
        str(payouts["failed_a"].id)
    }
    assert listing(ops, f"?bank_profile_id={uuid.uuid4()}")["count"] == 0


def test_newest_first_and_paginated(ops: APIClient) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    made = [PayoutFactory(created_at=base + timedelta(minutes=i)) for i in range(5)]
    body = listing(ops, "?limit=2")
    assert body["count"] == 5
    assert [p["id"] for p in body["results"]] == [str(made[4].id), str(made[3].id)]
    assert "offset=2" in body["next"]
    last = listing(ops, "?limit=2&offset=4")
    assert [p["id"] for p in last["results"]] == [str(made[0].id)]
    assert last["next"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=lost", "status"),
        ("?status=failed&status=nope", "status"),
        ("?bank_profile_id=not-a-uuid", "bank_profile_id"),
        ("?from=yesterday", "from"),
        ("?limit=501", "limit"),
        ("?limit=abc", "limit"),
    ],
)
def test_invalid_filters_are_400(ops: APIClient, query: str, field: str) -> None:
    error = assert_error(ops.get(f"/api/ops/payouts{query}"), 400, "validation_error")
    assert field in error["fields"]


def test_anonymous_and_unknown_roles_are_refused(
    anonymous: APIClient, outsider: APIClient
) -> None:
    assert_error(anonymous.get("/api/ops/payouts"), 401, "not_authenticated")
    assert_error(outsider.get("/api/ops/payouts"), 403, "forbidden")


@pytest.mark.parametrize("rows", [3, 30])
def test_query_count_does_not_grow_with_rows(
    ops: APIClient, django_assert_num_queries: Callable[..., Any], rows: int
) -> None:
    bank = BankProfileFactory()
    PayoutFactory.create_batch(rows, bank_profile=bank)
    # one COUNT, one page of rows; the bank id is a column, not a join
    with django_assert_num_queries(2):
        body = listing(ops, "?limit=500&status=pending")
    assert body["count"] == rows
