"""GET /api/ops/plans (filters, pagination, pinned queries) and
GET /api/ops/plans/<id>: every role reads; plan_data never leaves."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from molam_ops.actions.context import ActionContext
from molam_ops.actions.ports import ports
from molam_ops.identity import Principal
from plans import crypto
from plans.models import Plan


def make_plan(**kw: Any) -> Plan:
    now = kw.pop("created_at", timezone.now())
    defaults: dict[str, Any] = {
        "plan_type": "routing_optimization",
        "status": "pending",
        "source": "heuristic",
        "summary": "Move 4 payouts",
        "steps": [{"action": "reroute_payouts", "count": 4}],
        "total_amount": Decimal("12.50"),
        "payout_count": 4,
        "created_by": "alice",
        "plan_data": crypto.encrypt_json({"snapshot": {"secret": "bank-xyz"}}),
        "created_at": now,
        "updated_at": now,
    }
    return Plan.objects.create(**(defaults | kw))


def get_ok(client: APIClient, url: str) -> dict[str, Any]:
    resp = client.get(url)
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["ok"] is True
    return body


@pytest.fixture
def plans(db: None) -> dict[str, Plan]:
    now = timezone.now()
    return {
        "old": make_plan(created_at=now - timedelta(hours=3), status="executed"),
        "float": make_plan(
            created_at=now - timedelta(hours=2),
            plan_type="float_rebalance",
            source="sira",
            planner_version="sira-1",
        ),
        "failed": make_plan(
            created_at=now - timedelta(hours=1),
            status="failed",
            plan_type="risk_mitigation",
            details={"error": {"code": "infeasible_constraints", "message": "no"}},
        ),
        "new": make_plan(created_at=now, status="generating", source=""),
    }


@pytest.mark.parametrize("role", ["pay_admin", "finance_ops", "ops"])
def test_every_role_lists_plans_newest_first(
    plans: dict[str, Plan], client_for: Any, role: str
) -> None:
    body = get_ok(client_for(role), "/api/ops/plans")
    assert body["count"] == 4 and body["next"] is None
    ids = [p["id"] for p in body["results"]]
    assert ids == [str(plans[k].id) for k in ("new", "failed", "float", "old")]


def test_the_plan_shape(plans: dict[str, Plan], ops: APIClient) -> None:
    plan = get_ok(ops, f"/api/ops/plans/{plans['float'].id}")["plan"]
    assert plan == {
        "id": str(plans["float"].id),
        "plan_type": "float_rebalance",
        "status": "pending",
        "source": "sira",
        "summary": "Move 4 payouts",
        "steps": [{"action": "reroute_payouts", "count": 4}],
        "total_amount": "12.50",
        "currency": "USD",
        "payout_count": 4,
        "approval_required": False,
        "approval_id": None,
        "details": {},
        "params": {},
        "planner_version": "sira-1",
        "input_hash": "",
        "fallback_reason": None,
        "created_by": "alice",
        "created_at": plan["created_at"],
        "updated_at": plan["updated_at"],
    }
    assert plan["created_at"].endswith("Z")
    assert "plan_data" not in plan
    listed = get_ok(ops, "/api/ops/plans")
    assert "bank-xyz" not in str(listed) and "gAAAA" not in str(listed)


def test_a_failed_plan_shows_its_error(plans: dict[str, Plan], ops: APIClient) -> None:
    plan = get_ok(ops, f"/api/ops/plans/{plans['failed'].id}")["plan"]
    assert plan["details"]["error"]["code"] == "infeasible_constraints"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=pending", ["float"]),
        ("status=pending&status=executed", ["float", "old"]),
        ("plan_type=risk_mitigation", ["failed"]),
        ("plan_type=routing_optimization&status=generating", ["new"]),
        ("source=sira", ["float"]),
        ("source=heuristic", ["failed", "old"]),
        ("created_by=alice&limit=2", ["new", "failed"]),
        ("created_by=bob", []),
    ],
)
def test_filters(
    plans: dict[str, Plan], ops: APIClient, query: str, expected: list[str]
) -> None:
    body = get_ok(ops, f"/api/ops/plans?{query}")
    assert [p["id"] for p in body["results"]] == [str(plans[k].id) for k in expected]


def test_created_range(plans: dict[str, Plan], ops: APIClient) -> None:
    since = (plans["failed"].created_at - timedelta(minutes=1)).isoformat()
    body = ops.get("/api/ops/plans", {"created_from": since}).json()
    assert [p["id"] for p in body["results"]] == [
        str(plans["new"].id),
        str(plans["failed"].id),
    ]


def test_pagination(plans: dict[str, Plan], ops: APIClient) -> None:
    first = get_ok(ops, "/api/ops/plans?limit=3")
    assert first["count"] == 4 and len(first["results"]) == 3
    assert first["next"] and "offset=3" in first["next"]
    second = get_ok(ops, "/api/ops/plans?limit=3&offset=3")
    assert [p["id"] for p in second["results"]] == [str(plans["old"].id)]
    assert second["next"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("plan_type=magic", "plan_type"),
        ("source=oracle", "source"),
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("created_from=yesterday", "created_from"),
    ],
)
def test_bad_filters_are_400(
    plans: dict[str, Plan], ops: APIClient, query: str, field: str
) -> None:
    resp = ops.get(f"/api/ops/plans?{query}")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "validation_error"
    assert field in resp.json()["error"]["fields"]


def test_unknown_plan_is_404(db: None, ops: APIClient) -> None:
    resp = ops.get(f"/api/ops/plans/{uuid.uuid4()}")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "plan_not_found"
    assert ops.get("/api/ops/plans/not-a-uuid").status_code == 404


def test_outsiders_and_anonymous_are_refused(
    plans: dict[str, Plan], outsider: APIClient, anonymous: APIClient
) -> None:
    for url in ("/api/ops/plans", f"/api/ops/plans/{plans['new'].id}"):
        assert outsider.get(url).status_code == 403
        assert anonymous.get(url).status_code == 401


@pytest.mark.parametrize("rows", [3, 30])
def test_query_count_does_not_grow_with_rows(
    db: None,
    ops: APIClient,
    django_assert_num_queries: Callable[..., Any],
    client_for: Any,
    rows: int,
) -> None:
    for _ in range(rows):
        plan = make_plan()
        # every plan with its approval request: the list fetches them in one go
        ctx = ActionContext(
            action_id=uuid.uuid4(),
            action_type="generate_plan",
            principal=Principal(id="alice", roles=frozenset({"ops"})),
            role="ops",
        )
        assert ports.approvals is not None
        approval = ports.approvals.open_request(
            ctx,
            action_type="execute_plan",
            payload={"plan_id": str(plan.id)},
            required=2,
            mode="token",
        )
        Plan.objects.filter(pk=plan.pk).update(
            approval_required=True, approval_id=approval["id"]
        )
    # COUNT, the page, the approvals and their signatures
    with django_assert_num_queries(4):
        body = get_ok(ops, "/api/ops/plans?limit=500")
    assert len(body["results"]) == rows
    assert all(p["approval"]["status"] == "pending" for p in body["results"])
    assert all(p["approval"]["id"] == p["approval_id"] for p in body["results"])
