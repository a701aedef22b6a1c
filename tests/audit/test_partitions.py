"""ops_actions_log partitioned by ranges of seq on PostgreSQL (DESIGN §3,
audit/partitions.py): rows spread over partitions, every partition refuses
UPDATE, DELETE and TRUNCATE, the app role may add partitions through the
owner's function but never change one, and beat keeps them ahead of the rows."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError, ProgrammingError

from audit import partitions, tasks
from audit.models import OpsActionLog
from audit.selectors import action_log_verify
from audit.services import append_row
from tests.helpers import as_role

pytestmark = pytest.mark.postgres

ROWS = 5  # per partition, in these tests


@pytest.fixture
def small(db: None, settings: Any) -> list[str]:
    """The (empty) log re-laid in partitions of ROWS rows, inside the test's
    transaction: the migration's, of AUDIT_PARTITION_ROWS, come back at
    rollback."""
    settings.AUDIT_PARTITION_ROWS = ROWS
    with connection.cursor() as cur:
        for part in partitions.partition_names(connection):
            cur.execute(f'DROP TABLE "{part}"')
    assert tasks.ensure_partitions() == 1  # [1, 6): one partition ahead
    return partitions.partition_names(connection)


def append(n: int, *, beat: bool = True) -> list[OpsActionLog]:
    rows = []
    for i in range(n):
        if beat:
            tasks.ensure_partitions()
        rows.append(
            append_row(
                action_id=uuid.uuid4(),
                actor_id="alice",
                actor_role="ops",
                action_type="pause_bank",
                status="executed",
                target={"i": i},
                details={},
            )
        )
    return rows


def rows_per_partition() -> dict[str, int]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT tableoid::regclass::text, count(*) FROM ops_actions_log "
            "GROUP BY 1 ORDER BY 1"
        )
        return dict(cur.fetchall())


def refused(sql: str) -> str:
    with (
        pytest.raises(DatabaseError) as excinfo,
        transaction.atomic(),
        connection.cursor() as cur,
    ):
        cur.execute(sql)
    return str(excinfo.value)


def test_the_table_is_partitioned_by_seq(db: None) -> None:
    assert partitions.is_partitioned(connection)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_get_partkeydef('ops_actions_log'::regclass), "
            "pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'ops_actions_log'::regclass AND contype = 'p'"
        )
        assert cur.fetchone() == ("RANGE (seq)", "PRIMARY KEY (seq)")
    # migrate leaves a full partition of headroom at least
    assert partitions.headroom(connection) >= 1_000_000


def test_rows_land_in_several_partitions_and_the_chain_holds(small: list[str]) -> None:
    rows = append(13)
    assert rows_per_partition() == {
        "ops_actions_log_p000000000001": 5,
        "ops_actions_log_p000000000006": 5,
        "ops_actions_log_p000000000011": 3,
    }
    # the links across each boundary
    assert rows[5].prev_hash == rows[4].hash
    assert rows[10].prev_hash == rows[9].hash
    report = action_log_verify()
    assert (report.valid, report.checked) == (True, 13)
    # a lookup by the model's pk finds the row in whichever partition
    assert OpsActionLog.objects.get(id=rows[7].id).seq == 8


def test_beat_keeps_a_full_partition_ahead(small: list[str]) -> None:
    assert partitions.headroom(connection) == ROWS
    append(4, beat=False)
    assert partitions.headroom(connection) == 1
    assert tasks.ensure_partitions() == 1
    assert partitions.headroom(connection) == 6 >= ROWS
    assert tasks.ensure_partitions() == 0  # safe to run twice
    append(3, beat=False)  # seq 7: in the partition beat made
    assert max(rows_per_partition()) == "ops_actions_log_p000000000006"


def test_a_row_beyond_the_partitions_is_refused_not_lost(small: list[str]) -> None:
    append(ROWS, beat=False)
    with pytest.raises(DatabaseError, match="no partition"), transaction.atomic():
        append(1, beat=False)
    assert OpsActionLog.objects.count() == ROWS


def test_the_function_refuses_silly_arguments(small: list[str]) -> None:
    assert "bad arguments" in refused("SELECT ops_actions_log_ensure_partitions(10, 0)")
    assert "more than 100 partitions" in refused(
        "SELECT ops_actions_log_ensure_partitions(1000000, 1)"
    )


def test_every_partition_refuses_changes(small: list[str]) -> None:
    append(12)
    parts = partitions.partition_names(connection)
    assert len(parts) == 4
    filled = set(rows_per_partition())
    assert len(filled) == 3
    for table in ["ops_actions_log", *parts]:
        # row triggers need a row; the newest partition is still empty
        changes = [f"UPDATE {table} SET status = 'failed'", f"DELETE FROM {table}"]
        for sql in [
            *(changes if table not in parts or table in filled else []),
            f"TRUNCATE {table}",
        ]:
            err = refused(sql)
            assert "ops_actions_log is append-only" in err, sql
            assert sql.split()[0] in err
    assert OpsActionLog.objects.count() == 12


def test_every_partition_has_its_triggers(small: list[str]) -> None:
    append(12)  # beat made two more
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname, array_agg(t.tgname::text ORDER BY t.tgname) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal "
            "AND t.tgenabled = 'O' "
            "WHERE i.inhparent = 'ops_actions_log'::regclass GROUP BY 1 ORDER BY 1"
        )
        found = dict(cur.fetchall())
    both = ["ops_actions_log_no_truncate", "ops_actions_log_no_update_delete"]
    assert found == dict.fromkeys(partitions.partition_names(connection), both)
    assert len(found) == 4


def test_the_app_role_adds_partitions_but_changes_none(
    small: list[str], app_role: str
) -> None:
    append(1)
    as_role(app_role)
    append(10)  # INSERT, and beat's function, as the app role
    made = [p for p in partitions.partition_names(connection) if p not in small]
    assert made  # by the app role, through the owner's function
    with connection.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == app_role
        cur.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relname = ANY(%s)",
            [made + small],
        )
        owners = [r[0] for r in cur.fetchall()]
    assert owners == [connection.settings_dict["USER"]]
    assert OpsActionLog.objects.count() == 11  # SELECT through the parent
    for part in small + made:
        for sql in (
            f"UPDATE {part} SET status = 'failed'",
            f"DELETE FROM {part}",
            f"TRUNCATE {part}",
            f"SELECT * FROM {part}",
        ):
            assert f"permission denied for table {part}" in refused(sql), sql
        for sql in (
            f"DROP TABLE {part}",
            f"ALTER TABLE {part} DISABLE TRIGGER USER",
            f"ALTER TABLE ops_actions_log DETACH PARTITION {part}",
        ):
            assert "must be owner" in refused(sql), sql
    for sql in (
        "DROP FUNCTION ops_actions_log_ensure_partitions(bigint, bigint)",
        "CREATE TABLE ops_actions_log_evil PARTITION OF ops_actions_log "
        "FOR VALUES FROM (1000) TO (2000)",
    ):
        err = refused(sql)
        assert "must be owner" in err or "permission denied" in err, sql
    with pytest.raises(ProgrammingError), transaction.atomic():
        OpsActionLog.objects.all().delete()
    assert OpsActionLog.objects.count() == 11


def test_the_headroom_gauge(small: list[str]) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from audit.metrics import install

    registry = CollectorRegistry()
    install(registry)
    append(3, beat=False)
    text = generate_latest(registry).decode()
    # 2 rows left in [1, 6): 0.4 of a partition
    assert "molam_ops_audit_partition_headroom_ratio 0.4" in text
