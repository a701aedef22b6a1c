"""Every call of the runner leaves at least one audit row (DESIGN §3), whether
it executes, is refused, or fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from rest_framework import serializers

from audit.models import OpsActionLog
from controls.models import TreasuryControl
from molam_ops.actions import registry, runner
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.errors import OpsError
from molam_ops.identity import Principal
from molam_ops.models import IdempotencyRecord
from tests.helpers import post_action

pytestmark = pytest.mark.django_db

FAILING = "test_audit_failing_effect"


def new_rows(before: int) -> list[OpsActionLog]:
    return list(OpsActionLog.objects.filter(seq__gt=before).order_by("seq"))


def last_seq() -> int:
    row = OpsActionLog.objects.order_by("-seq").first()
    return row.seq if row else 0


def test_executed(pay_admin: Any, bank: Any) -> None:
    before = last_seq()
    resp = post_action(
        pay_admin, "pause-bank", {"bank_profile_id": str(bank.id), "reason": "x"}
    )
    assert resp.status_code == 200
    rows = new_rows(before)
    assert [(r.action_type, r.status, r.actor_id) for r in rows] == [
        ("pause_bank", "executed", "alice")
    ]
    assert rows[0].actor_role == "pay_admin"
    assert rows[0].target["bank_profile_id"] == str(bank.id)
    assert resp.json()["log"]["id"] == str(rows[0].id)


def test_rejected_for_role(ops: Any, bank: Any) -> None:
    before = last_seq()
    resp = post_action(
        ops, "pause-bank", {"bank_profile_id": str(bank.id), "reason": "x"}
    )
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    rows = new_rows(before)
    assert len(rows) == 1
    row = rows[0]
    assert (row.action_type, row.status, row.actor_id) == (
        "pause_bank",
        "rejected",
        "chloe",
    )
    assert row.actor_role == "ops"
    assert row.details["code"] == "forbidden"
    assert row.target == {"bank_profile_id": str(bank.id)}
    # the refusal changed nothing
    assert not TreasuryControl.objects.exists()


def test_rejected_for_validation(pay_admin: Any, bank: Any) -> None:
    before = last_seq()
    key = uuid.uuid4().hex
    resp = post_action(
        pay_admin, "pause-bank", {"bank_profile_id": str(bank.id)}, key=key
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["fields"].keys() == {"reason"}
    rows = new_rows(before)
    assert [(r.action_type, r.status) for r in rows] == [("pause_bank", "rejected")]
    assert rows[0].details["code"] == "validation_error"
    assert rows[0].details["fields"] == {"reason": ["This field is required."]}
    assert rows[0].idempotency_key == key
    assert not TreasuryControl.objects.exists()


def test_rejected_without_idempotency_key(pay_admin: Any, bank: Any) -> None:
    before = last_seq()
    resp = post_action(
        pay_admin,
        "pause-bank",
        {"bank_profile_id": str(bank.id), "reason": "x"},
        key=None,
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "idempotency_key_required"
    rows = new_rows(before)
    assert [(r.status, r.details["code"]) for r in rows] == [
        ("rejected", "idempotency_key_required")
    ]


def test_rejected_for_idempotency_conflict(pay_admin: Any, bank: Any) -> None:
    key = uuid.uuid4().hex
    body = {"bank_profile_id": str(bank.id), "reason": "x"}
    assert post_action(pay_admin, "pause-bank", body, key=key).status_code == 200
    before = last_seq()
    resp = post_action(pay_admin, "pause-bank", {**body, "reason": "y"}, key=key)
    assert resp.status_code == 422
    rows = new_rows(before)
    assert [(r.status, r.details["code"]) for r in rows] == [
        ("rejected", "idempotency_key_reused")
    ]


def test_rejected_by_the_effect(pay_admin: Any, bank: Any) -> None:
    body = {"bank_profile_id": str(bank.id), "reason": "x"}
    assert post_action(pay_admin, "pause-bank", body).status_code == 200
    before = last_seq()
    resp = post_action(pay_admin, "pause-bank", body)
    assert resp.status_code == 409
    rows = new_rows(before)
    assert [(r.status, r.details["code"]) for r in rows] == [
        ("rejected", "bank_already_paused")
    ]


# --- a failing effect ----------------------------------------------------------


class FailingInput(serializers.Serializer):
    target_fields = ("label",)
    label = serializers.CharField(max_length=64)


@pytest.fixture
def failing_action(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bool]]:
    """Register a test-only action whose effect writes, then (while ``fail`` is
    set) raises. The registry is global: it is registered into a copy that is
    put back afterwards, so no other test (an RBAC matrix walking the registry,
    say) ever sees it."""
    switch = {"fail": True}
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @registry.ops_action(FAILING, roles={"pay_admin"}, input=FailingInput, http=False)
    def effect(ctx: ActionContext, *, label: str) -> Outcome:
        now = timezone.now()
        control = TreasuryControl.objects.create(
            key=f"feature:{label}",
            enabled=True,
            created_at=now,
            updated_at=now,
            updated_by=ctx.actor_id,
        )
        if switch["fail"]:
            raise RuntimeError("the rails are on fire")
        return Outcome(target={"label": label}, details={"control": control.key})

    yield switch
    assert FAILING in registry._REGISTRY


def test_failed_effect_leaves_a_failed_row(failing_action: dict[str, bool]) -> None:
    principal = Principal(id="alice", roles=frozenset({"pay_admin"}))
    key = uuid.uuid4().hex
    payload = {"label": "test_audit_failure"}
    before = last_seq()

    with pytest.raises(OpsError) as excinfo:
        runner.run(FAILING, principal, payload, idempotency_key=key)
    err = excinfo.value
    assert (err.status, err.code) == (500, "action_failed")
    assert err.body()["ok"] is False

    rows = new_rows(before)
    assert len(rows) == 1
    row = rows[0]
    assert (row.action_type, row.status, row.actor_id, row.actor_role) == (
        FAILING,
        "failed",
        "alice",
        "pay_admin",
    )
    assert row.details == {"error": "RuntimeError"}
    assert row.target == {"label": "test_audit_failure"}
    assert row.idempotency_key == key
    # the effect's own write went with the failure
    assert not TreasuryControl.objects.filter(key="feature:test_audit_failure").exists()
    # and the key was released: nothing committed, so the same key runs again
    assert not IdempotencyRecord.objects.filter(scope="alice", key=key).exists()

    failing_action["fail"] = False
    result = runner.run(FAILING, principal, payload, idempotency_key=key)
    assert result.status == 200
    assert not result.replayed
    assert result.body["log"]["status"] == "executed"
    assert TreasuryControl.objects.filter(key="feature:test_audit_failure").exists()
    later = new_rows(row.seq)
    assert [(r.status, r.action_id != row.action_id) for r in later] == [
        ("executed", True)
    ]
    record = IdempotencyRecord.objects.get(scope="alice", key=key)
    assert record.status == IdempotencyRecord.Status.COMPLETED

    # now the key is taken: the same call replays the stored response
    again = runner.run(FAILING, principal, payload, idempotency_key=key)
    assert again.replayed
    assert again.body == result.body


def test_failed_effect_without_key_still_leaves_a_row(
    failing_action: dict[str, bool],
) -> None:
    principal = Principal(id="alice", roles=frozenset({"pay_admin"}))
    before = last_seq()
    with pytest.raises(OpsError) as excinfo:
        runner.run(FAILING, principal, {"label": "no_key"})
    assert excinfo.value.code == "action_failed"
    assert [(r.status, r.idempotency_key) for r in new_rows(before)] == [
        ("failed", None)
    ]


def test_test_action_is_internal_and_role_checked(
    failing_action: dict[str, bool],
) -> None:
    spec = registry.get_action(FAILING)
    assert spec.http is False
    before = last_seq()
    with pytest.raises(OpsError) as excinfo:
        runner.run(
            FAILING,
            Principal(id="chloe", roles=frozenset({"ops"})),
            {"label": "x"},
            idempotency_key="k",
        )
    assert excinfo.value.status == 403
    assert [r.status for r in new_rows(before)] == ["rejected"]


def test_test_action_is_gone_afterwards() -> None:
    assert FAILING not in {spec.name for spec in registry.all_actions()}


RULED = "test_audit_failing_rule"


@pytest.fixture
def failing_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An action whose approval rule raises (a rates table gone, say)."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def rule(ctx: ActionContext, data: dict[str, Any]) -> int:
        if data["label"] == "refuse":
            raise OpsError("unknown_currency", "No rate for ZZZ.", status=422)
        raise LookupError("no rates table")

    @registry.ops_action(
        RULED, roles={"pay_admin"}, input=FailingInput, http=False, approvals=rule
    )
    def effect(ctx: ActionContext, *, label: str) -> Outcome:
        return Outcome(target={"label": label})

    yield


@pytest.mark.parametrize(
    ("label", "status", "code", "row_status"),
    [
        ("crash", 500, "action_failed", "failed"),
        ("refuse", 422, "unknown_currency", "rejected"),
    ],
)
def test_a_raising_approval_rule_leaves_a_row_and_no_reserved_key(
    failing_rule: None, label: str, status: int, code: str, row_status: str
) -> None:
    principal = Principal(id="alice", roles=frozenset({"pay_admin"}))
    key = uuid.uuid4().hex
    before = last_seq()
    with pytest.raises(OpsError) as excinfo:
        runner.run(RULED, principal, {"label": label}, idempotency_key=key)
    assert (excinfo.value.status, excinfo.value.code) == (status, code)
    rows = new_rows(before)
    assert [(r.action_type, r.status, r.idempotency_key) for r in rows] == [
        (RULED, row_status, key)
    ]
    record = IdempotencyRecord.objects.filter(scope="alice", key=key).first()
    if row_status == "failed":
        assert record is None  # released: nothing ran, the key may run again
    else:
        assert record is not None  # the refusal is the key's stored answer
        assert record.status == IdempotencyRecord.Status.COMPLETED
        assert record.response_status == 422
