"""Idempotency-Key on the ops actions (DESIGN §5), through the real HTTP views:
required, ≤ 255 chars, replay, reuse with another body, in flight, TTL, purge."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from molam_ops.actions.idempotency import request_hash
from molam_ops.models import IdempotencyRecord
from molam_ops.tasks import purge_idempotency_keys
from tests.helpers import post_action

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _body(bank: Any, reason: str = "connector timeouts") -> dict[str, str]:
    return {"bank_profile_id": str(bank.id), "reason": reason}


def _rows(status: str | None = None, **filters: Any) -> list[OpsActionLog]:
    qs = OpsActionLog.objects.filter(**filters).order_by("seq")
    if status:
        qs = qs.filter(status=status)
    return list(qs)


def _paused(bank: Any) -> bool:
    control = TreasuryControl.objects.filter(key=pause_bank_key(bank.id)).first()
    return control is not None and control.is_active()


def _code(resp: Any) -> str:
    return resp.json()["error"]["code"]


class TestKeyRequired:
    def test_missing_key_is_refused_without_effect_but_audited(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        resp = post_action(pay_admin, "pause-bank", _body(bank), key=None)

        assert resp.status_code == 400
        assert _code(resp) == "idempotency_key_required"
        assert "Idempotency-Key" in resp.json()["error"]["fields"]
        assert not TreasuryControl.objects.filter(key=pause_bank_key(bank.id)).exists()
        assert IdempotencyRecord.objects.count() == 0
        [row] = _rows(action_type="pause_bank")
        assert row.status == "rejected"
        assert row.details["code"] == "idempotency_key_required"
        assert row.actor_id == "alice"

    def test_empty_key_counts_as_missing(self, pay_admin: APIClient, bank: Any) -> None:
        resp = post_action(pay_admin, "pause-bank", _body(bank), key="")

        assert resp.status_code == 400
        assert _code(resp) == "idempotency_key_required"
        assert not _paused(bank)

    def test_key_longer_than_255_chars_is_refused(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        resp = post_action(pay_admin, "pause-bank", _body(bank), key="k" * 256)

        assert resp.status_code == 400
        assert _code(resp) == "idempotency_key_invalid"
        assert "Idempotency-Key" in resp.json()["error"]["fields"]
        assert not _paused(bank)
        assert IdempotencyRecord.objects.count() == 0
        [row] = _rows(action_type="pause_bank")
        assert row.status == "rejected"
        assert row.idempotency_key == "k" * 255  # clipped to fit its column

    def test_key_of_exactly_255_chars_is_accepted(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        resp = post_action(pay_admin, "pause-bank", _body(bank), key="k" * 255)

        assert resp.status_code == 200, resp.json()
        assert _paused(bank)


class TestReplay:
    def test_same_key_same_body_replays_the_first_response(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        first = post_action(pay_admin, "pause-bank", _body(bank), key="k-1")
        assert first.status_code == 200, first.json()
        assert "Idempotent-Replayed" not in first.headers

        again = post_action(pay_admin, "pause-bank", _body(bank), key="k-1")
        third = post_action(pay_admin, "pause-bank", _body(bank), key="k-1")

        for resp in (again, third):
            assert resp.status_code == 200
            assert resp.headers["Idempotent-Replayed"] == "true"
            assert resp.json() == first.json()
        assert len(_rows("executed", action_type="pause_bank")) == 1
        assert _rows(action_type="pause_bank", status="rejected") == []
        assert TreasuryControl.objects.filter(key=pause_bank_key(bank.id)).count() == 1
        record = IdempotencyRecord.objects.get()
        assert (record.scope, record.key, record.status) == (
            "alice",
            "k-1",
            "completed",
        )
        assert str(record.action_id) == first.json()["log"]["action_id"]

    def test_same_key_different_body_is_unprocessable(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        first = post_action(pay_admin, "pause-bank", _body(bank), key="k-2")
        assert first.status_code == 200

        resp = post_action(pay_admin, "pause-bank", _body(bank, "other"), key="k-2")

        assert resp.status_code == 422
        assert _code(resp) == "idempotency_key_reused"
        assert "Idempotent-Replayed" not in resp.headers
        control = TreasuryControl.objects.get(key=pause_bank_key(bank.id))
        assert control.value["reason"] == "connector timeouts"
        rows = _rows(action_type="pause_bank")
        assert [r.status for r in rows] == ["executed", "rejected"]
        assert rows[1].details["code"] == "idempotency_key_reused"

    def test_same_key_on_another_action_is_unprocessable(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        resp = post_action(pay_admin, "pause-bank", _body(bank), key="k-3")
        assert resp.status_code == 200

        resp = post_action(pay_admin, "resume-bank", _body(bank), key="k-3")

        assert resp.status_code == 422
        assert _code(resp) == "idempotency_key_reused"
        assert _paused(bank)

    def test_validation_error_is_not_stored_so_a_corrected_retry_runs(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        bad = post_action(
            pay_admin, "pause-bank", {"bank_profile_id": str(bank.id)}, key="k-4"
        )
        assert bad.status_code == 400
        assert _code(bad) == "validation_error"
        assert "reason" in bad.json()["error"]["fields"]
        assert IdempotencyRecord.objects.count() == 0

        good = post_action(pay_admin, "pause-bank", _body(bank), key="k-4")

        assert good.status_code == 200, good.json()
        assert "Idempotent-Replayed" not in good.headers
        assert _paused(bank)
        assert [r.status for r in _rows(action_type="pause_bank")] == [
            "rejected",
            "executed",
        ]

    def test_refusal_from_the_effect_is_stored_and_replayed(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        assert post_action(pay_admin, "pause-bank", _body(bank)).status_code == 200

        refused = post_action(pay_admin, "pause-bank", _body(bank), key="k-5")
        assert refused.status_code == 409
        assert _code(refused) == "bank_already_paused"
        assert "Idempotent-Replayed" not in refused.headers

        # the bank is resumed meanwhile: the key still answers what it did
        assert post_action(pay_admin, "resume-bank", _body(bank)).status_code == 200
        replay = post_action(pay_admin, "pause-bank", _body(bank), key="k-5")

        assert replay.status_code == 409
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == refused.json()
        assert not _paused(bank)
        assert len(_rows("executed", action_type="pause_bank")) == 1
        assert len(_rows("rejected", action_type="pause_bank")) == 1
        record = IdempotencyRecord.objects.get(key="k-5")
        assert (record.status, record.response_status) == ("completed", 409)

    def test_role_refusal_does_not_reserve_the_key(
        self, finance_ops: APIClient, bank: Any
    ) -> None:
        resp = post_action(finance_ops, "pause-bank", _body(bank), key="k-6")

        assert resp.status_code == 403
        assert IdempotencyRecord.objects.count() == 0
        assert [r.status for r in _rows(action_type="pause_bank")] == ["rejected"]


class TestInFlight:
    def _reserve(self, scope: str, key: str, body: dict[str, str]) -> None:
        # what a request that died after reserving its key leaves behind
        IdempotencyRecord.objects.create(
            scope=scope,
            key=key,
            request_hash=request_hash("pause_bank", body),
            action_type="pause_bank",
            action_id=uuid.uuid4(),
            status=IdempotencyRecord.Status.IN_FLIGHT,
            created_at=timezone.now(),
        )

    def test_in_flight_key_conflicts_and_is_never_re_executed(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        self._reserve("alice", "k-fly", _body(bank))

        first = post_action(pay_admin, "pause-bank", _body(bank), key="k-fly")
        second = post_action(pay_admin, "pause-bank", _body(bank), key="k-fly")

        for resp in (first, second):
            assert resp.status_code == 409
            assert _code(resp) == "idempotency_key_in_use"
            assert "Idempotent-Replayed" not in resp.headers
        assert not TreasuryControl.objects.filter(key=pause_bank_key(bank.id)).exists()
        rows = _rows(action_type="pause_bank")
        assert [r.status for r in rows] == ["rejected", "rejected"]
        assert {r.details["code"] for r in rows} == {"idempotency_key_in_use"}
        assert IdempotencyRecord.objects.get().status == "in_flight"

    def test_in_flight_key_with_another_body_is_unprocessable(
        self, pay_admin: APIClient, bank: Any
    ) -> None:
        self._reserve("alice", "k-fly", _body(bank))

        resp = post_action(pay_admin, "pause-bank", _body(bank, "other"), key="k-fly")

        assert resp.status_code == 422
        assert _code(resp) == "idempotency_key_reused"

    def test_in_flight_key_still_conflicts_just_before_the_ttl(
        self, client_for: Callable[..., APIClient], bank: Any
    ) -> None:
        ttl = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        with time_machine.travel(T0, tick=False):
            self._reserve("alice", "k-fly", _body(bank))
        with time_machine.travel(T0 + ttl - timedelta(seconds=1), tick=False):
            client = client_for("pay_admin", sub="alice")
            resp = post_action(client, "pause-bank", _body(bank), key="k-fly")

        assert resp.status_code == 409
        assert _code(resp) == "idempotency_key_in_use"
        assert not _paused(bank)


class TestScope:
    def test_keys_are_scoped_per_caller(
        self, client_for: Callable[..., APIClient], bank: Any
    ) -> None:
        body = _body(bank)
        alice = client_for("pay_admin", sub="alice")
        dora = client_for("pay_admin", sub="dora")

        first = post_action(alice, "pause-bank", body, key="shared")
        # dora's same key is hers alone: it runs (and is refused by the effect)
        dora_resp = post_action(dora, "pause-bank", body, key="shared")
        # and with a different body it is not a reuse of alice's key either
        dora_resume = post_action(dora, "resume-bank", _body(bank), key="shared-2")
        alice_resume = post_action(alice, "resume-bank", _body(bank), key="shared-2")

        assert first.status_code == 200
        assert dora_resp.status_code == 409
        assert _code(dora_resp) == "bank_already_paused"
        assert "Idempotent-Replayed" not in dora_resp.headers
        assert dora_resume.status_code == 200
        assert alice_resume.status_code == 409
        assert _code(alice_resume) == "bank_not_paused"
        scopes = sorted(IdempotencyRecord.objects.values_list("scope", "key"))
        assert scopes == [
            ("alice", "shared"),
            ("alice", "shared-2"),
            ("dora", "shared"),
            ("dora", "shared-2"),
        ]


class TestExpiry:
    def test_a_record_older_than_the_ttl_is_no_longer_a_conflict(
        self, client_for: Callable[..., APIClient], bank: Any
    ) -> None:
        ttl = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        with time_machine.travel(T0, tick=False):
            client = client_for("pay_admin", sub="alice")
            first = post_action(client, "pause-bank", _body(bank), key="k-old")
        with time_machine.travel(T0 + ttl - timedelta(minutes=1), tick=False):
            client = client_for("pay_admin", sub="alice")
            reused = post_action(client, "resume-bank", _body(bank), key="k-old")
        with time_machine.travel(T0 + ttl + timedelta(minutes=1), tick=False):
            client = client_for("pay_admin", sub="alice")
            fresh = post_action(client, "resume-bank", _body(bank), key="k-old")

        assert first.status_code == 200
        assert reused.status_code == 422
        assert fresh.status_code == 200, fresh.json()
        assert "Idempotent-Replayed" not in fresh.headers
        assert not _paused(bank)
        record = IdempotencyRecord.objects.get()
        assert record.action_type == "resume_bank"
        assert str(record.action_id) == fresh.json()["log"]["action_id"]

    def test_an_expired_in_flight_record_no_longer_blocks(
        self, client_for: Callable[..., APIClient], bank: Any
    ) -> None:
        ttl = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        with time_machine.travel(T0, tick=False):
            TestInFlight()._reserve("alice", "k-dead", _body(bank))
        with time_machine.travel(T0 + ttl + timedelta(seconds=1), tick=False):
            client = client_for("pay_admin", sub="alice")
            resp = post_action(client, "pause-bank", _body(bank), key="k-dead")

        assert resp.status_code == 200, resp.json()
        assert IdempotencyRecord.objects.get().status == "completed"

    def test_purge_removes_expired_records_only(self, pay_admin: APIClient) -> None:
        ttl = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        ages = {
            "fresh": timedelta(0),
            "young": ttl - timedelta(seconds=1),
            "old": ttl + timedelta(seconds=1),
            "ancient": ttl * 3,
        }
        with time_machine.travel(T0, tick=False):
            for name, age in ages.items():
                for status in IdempotencyRecord.Status.values:
                    IdempotencyRecord.objects.create(
                        scope="alice",
                        key=f"{name}-{status}",
                        request_hash="0" * 64,
                        action_type="pause_bank",
                        action_id=uuid.uuid4(),
                        status=status,
                        created_at=T0 - age,
                    )
            deleted = purge_idempotency_keys.delay().get()
            again = purge_idempotency_keys()

        assert deleted == 4
        assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == [
            "fresh-completed",
            "fresh-in_flight",
            "young-completed",
            "young-in_flight",
        ]
        assert again == 0
