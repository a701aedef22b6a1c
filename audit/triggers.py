"""The database's own refusal to change ``ops_actions_log`` (DESIGN §3).

Installed by migration 0002; tests that must empty the table between runs drop
and re-install them through these functions, as the table owner would.
"""

from __future__ import annotations

from typing import Any

from audit import partitions

TABLE = "ops_actions_log"
MESSAGE = "ops_actions_log is append-only"

POSTGRES_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION ops_actions_log_refuse() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    """,
    f"""CREATE TRIGGER ops_actions_log_no_update_delete
        BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION ops_actions_log_refuse();""",
    f"""CREATE TRIGGER ops_actions_log_no_truncate
        BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION ops_actions_log_refuse();""",
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS ops_actions_log_no_update_delete ON {TABLE};",
    f"DROP TRIGGER IF EXISTS ops_actions_log_no_truncate ON {TABLE};",
]
SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS ops_actions_log_no_update
        BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS ops_actions_log_no_delete
        BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END;""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS ops_actions_log_no_update;",
    "DROP TRIGGER IF EXISTS ops_actions_log_no_delete;",
]


def _run(connection: Any, statements: list[str]) -> None:
    with connection.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def install(connection: Any) -> None:
    if connection.vendor == "postgresql":
        _run(connection, POSTGRES_DROP + POSTGRES_INSTALL)
        partitions.install_truncate_triggers(connection)
    elif connection.vendor == "sqlite":
        _run(connection, SQLITE_INSTALL)
    else:  # pragma: no cover - only the two supported databases
        raise NotImplementedError(connection.vendor)


def drop(connection: Any) -> None:
    partitions.drop_truncate_triggers(connection)
    _run(
        connection, POSTGRES_DROP if connection.vendor == "postgresql" else SQLITE_DROP
    )
