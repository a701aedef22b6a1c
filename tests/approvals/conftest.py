from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.factories import operator_user
from tests.helpers import post_action


@pytest.fixture
def global_freeze_request(db: None, client_for: Any) -> dict[str, Any]:
    """alice (pay_admin) asks for a global freeze; returns the 202 body."""
    resp = post_action(
        client_for("pay_admin", sub="alice"),
        "freeze-payouts",
        {"scope": "global", "reason": "incident 42"},
    )
    assert resp.status_code == 202, resp.json()
    return resp.json()


@pytest.fixture
def approver_users(db: None) -> list[User]:
    """Django users who hold approver roles and have emails (for notifications)."""
    users = []
    for name, role in (
        ("bruno", "finance_ops"),
        ("amadou", "pay_admin"),
        ("chloe", "ops"),
        ("alice", "pay_admin"),
    ):
        users.append(operator_user(name, role, email=f"{name}@molam.test"))
    return users
