"""The database's own refusal to change the audit tables (DESIGN §3):
``ops_actions_log`` and the Merkle tree and checkpoints built over it.

Installed by migrations 0002 and 0003; tests that must empty the tables
between runs drop and re-install them through these functions, as the table
owner would.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from audit import partitions

APPEND_ONLY_TABLES = (
    "ops_actions_log",
    "ops_audit_tree_node",
    "ops_audit_checkpoint",
)


def message(table: str) -> str:
    return f"{table} is append-only"


def _postgres_install(table: str) -> list[str]:
    return [
        f"""
        CREATE OR REPLACE FUNCTION {table}_refuse() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{message(table)}: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$;
        """,
        f"""CREATE TRIGGER {table}_no_update_delete
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_refuse();""",
        f"""CREATE TRIGGER {table}_no_truncate
            BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse();""",
    ]


def _postgres_drop(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
    ]


def _sqlite_install(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()}
            BEFORE {op} ON {table}
            BEGIN SELECT RAISE(ABORT, '{message(table)}: {op} refused'); END;"""
        for op in ("UPDATE", "DELETE")
    ]


def _sqlite_drop(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {table}_no_{op};" for op in ("update", "delete")]


def _run(connection: Any, statements: list[str]) -> None:
    with connection.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def install(connection: Any, tables: Iterable[str] = APPEND_ONLY_TABLES) -> None:
    for table in tables:
        if connection.vendor == "postgresql":
            _run(connection, _postgres_drop(table) + _postgres_install(table))
            if table == partitions.TABLE:
                partitions.install_truncate_triggers(connection)
        elif connection.vendor == "sqlite":
            _run(connection, _sqlite_install(table))
        else:  # pragma: no cover - only the two supported databases
            raise NotImplementedError(connection.vendor)


def drop(connection: Any, tables: Iterable[str] = APPEND_ONLY_TABLES) -> None:
    for table in tables:
        if table == partitions.TABLE:
            partitions.drop_truncate_triggers(connection)
        pg = connection.vendor == "postgresql"
        _run(connection, _postgres_drop(table) if pg else _sqlite_drop(table))
