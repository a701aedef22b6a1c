"""ops_actions_log is append-only in the database itself (DESIGN §3): raw SQL
that would change or remove a row is refused by triggers, whoever sends it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError, IntegrityError, ProgrammingError

from audit.chain import row_hash
from audit.models import OpsActionLog
from audit.serializers import audit_row
from tests.helpers import post_action

pytestmark = pytest.mark.django_db


def refusal() -> type[DatabaseError]:
    """What each vendor's trigger raises, as Django wraps it.

    PostgreSQL: RAISE ... ERRCODE insufficient_privilege (42501) →
    psycopg.errors.InsufficientPrivilege → ProgrammingError.
    SQLite: RAISE(ABORT, ...) is a constraint failure → IntegrityError.
    """
    return ProgrammingError if connection.vendor == "postgresql" else IntegrityError


@pytest.fixture
def logged_row(pay_admin: Any, bank: Any) -> OpsActionLog:
    resp = post_action(
        pay_admin, "pause-bank", {"bank_profile_id": str(bank.id), "reason": "audit"}
    )
    assert resp.status_code == 200, resp.json()
    return OpsActionLog.objects.get(id=resp.json()["log"]["id"])


def refused(sql: str, params: list[Any] | None = None) -> DatabaseError:
    """Run ``sql`` in a savepoint and return the error the database raised."""
    with (
        pytest.raises(refusal()) as excinfo,
        transaction.atomic(),
        connection.cursor() as cur,
    ):
        cur.execute(sql, params or [])
    err = excinfo.value
    assert type(err) is refusal()
    assert "ops_actions_log is append-only" in str(err)
    if connection.vendor == "postgresql":
        assert err.__cause__.sqlstate == "42501"  # insufficient_privilege
    return err


def assert_unchanged(row: OpsActionLog) -> None:
    again = OpsActionLog.objects.get(id=row.id)
    assert audit_row(again) == audit_row(row)
    assert row_hash(again) == again.hash
    assert OpsActionLog.objects.count() == 1


def test_update_is_refused(logged_row: OpsActionLog) -> None:
    err = refused(
        "UPDATE ops_actions_log SET status = 'failed', actor_id = 'mallory' "
        "WHERE id = %s",
        [logged_row.id.hex if connection.vendor == "sqlite" else logged_row.id],
    )
    assert "UPDATE" in str(err)
    assert_unchanged(logged_row)


def test_update_of_every_row_is_refused(logged_row: OpsActionLog) -> None:
    refused("UPDATE ops_actions_log SET details = '{}'")
    assert_unchanged(logged_row)


def test_delete_is_refused(logged_row: OpsActionLog) -> None:
    err = refused(
        "DELETE FROM ops_actions_log WHERE id = %s",
        [logged_row.id.hex if connection.vendor == "sqlite" else logged_row.id],
    )
    assert "DELETE" in str(err)
    assert_unchanged(logged_row)


def test_delete_of_every_row_is_refused(logged_row: OpsActionLog) -> None:
    refused("DELETE FROM ops_actions_log")
    assert_unchanged(logged_row)


def test_orm_update_and_delete_are_refused_too(logged_row: OpsActionLog) -> None:
    with pytest.raises(refusal()), transaction.atomic():
        OpsActionLog.objects.filter(id=logged_row.id).update(actor_id="mallory")
    with pytest.raises(refusal()), transaction.atomic():
        OpsActionLog.objects.filter(id=logged_row.id).delete()
    assert_unchanged(logged_row)


@pytest.mark.postgres
def test_truncate_is_refused_on_postgres(logged_row: OpsActionLog) -> None:
    err = refused("TRUNCATE ops_actions_log")
    assert "TRUNCATE" in str(err)
    assert_unchanged(logged_row)


def test_triggers_are_installed(db: None) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT tgname FROM pg_trigger "
                "WHERE tgrelid = 'ops_actions_log'::regclass AND NOT tgisinternal "
                "AND tgenabled = 'O' ORDER BY tgname"
            )
            expected = [
                "ops_actions_log_no_truncate",
                "ops_actions_log_no_update_delete",
            ]
        else:
            cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'ops_actions_log' ORDER BY name"
            )
            expected = ["ops_actions_log_no_delete", "ops_actions_log_no_update"]
        assert [r[0] for r in cur.fetchall()] == expected


def test_inserts_still_work_after_refusals(
    logged_row: OpsActionLog, pay_admin: Any, bank: Any
) -> None:
    refused("DELETE FROM ops_actions_log")
    resp = post_action(pay_admin, "resume-bank", {"bank_profile_id": str(bank.id)})
    assert resp.status_code == 200, resp.json()
    rows = list(OpsActionLog.objects.order_by("seq"))
    assert [r.seq for r in rows] == [1, 2]
    assert rows[1].prev_hash == logged_row.hash
