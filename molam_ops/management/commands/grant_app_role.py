"""``manage.py grant_app_role molam_app``: the application role's privileges.

Production migrates as the role that owns the tables and serves every process
as a second role (DESIGN §3, README "Deploying"). This command, run by the
owner right after ``migrate`` (new tables need their grants; it is idempotent),
lets that role read and write every table of the schema except the audit log,
where it may only SELECT and INSERT: UPDATE, DELETE and TRUNCATE on
``ops_actions_log`` are then refused by PostgreSQL's privileges, before the
append-only triggers are even reached.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

# DESIGN §3: the rows of these tables are never updated or deleted.
APPEND_ONLY_TABLES = ("ops_actions_log",)
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


def grant_statements(
    *, schema: str, role: str, partitions: tuple[str, ...] = ()
) -> list[str]:
    """The statements, with ``schema`` and ``role`` already quoted.
    ``partitions``: those of the append-only tables (partitioned on
    PostgreSQL), which the role reaches only through their parent."""
    statements = [
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} "
        f"TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    ]
    for table in APPEND_ONLY_TABLES:
        qualified = f"{schema}.{connection.ops.quote_name(table)}"
        statements += [
            f"REVOKE ALL ON TABLE {qualified} FROM {role}",
            f"GRANT SELECT, INSERT ON TABLE {qualified} TO {role}",
        ]
    # GRANT ... ON ALL TABLES above reached the partitions too
    for part in partitions:
        q = f"{schema}.{connection.ops.quote_name(part)}"
        statements.append(f"REVOKE ALL ON TABLE {q} FROM {role}")
    return statements


def append_only_partitions(cur: Any) -> tuple[str, ...]:
    cur.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent IN (SELECT to_regclass(t) FROM unnest(%s::text[]) t) "
        "ORDER BY c.relname",
        [list(APPEND_ONLY_TABLES)],
    )
    return tuple(r[0] for r in cur.fetchall())


class Command(BaseCommand):
    help = (
        "Grant the application database role DML on every table, and only "
        "SELECT, INSERT on the append-only audit log. Run as the owner after "
        "migrate (PostgreSQL)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the role the app connects as")

    def handle(self, *args: Any, role: str, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("grant_app_role needs PostgreSQL")
        if not ROLE_NAME.match(role):
            raise CommandError(f"not a plain role name: {role!r}")
        # One transaction: the role gets every grant or none of them.
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cur.fetchone() is None:
                raise CommandError(f"role {role!r} does not exist")
            cur.execute("SELECT current_schema()")
            schema = connection.ops.quote_name(cur.fetchone()[0])
            quoted_role = connection.ops.quote_name(role)
            parts = append_only_partitions(cur)
            for statement in grant_statements(
                schema=schema, role=quoted_role, partitions=parts
            ):
                cur.execute(statement)
        self.stdout.write(
            f"granted {role}: DML on {schema}, SELECT/INSERT only on "
            + ", ".join(APPEND_ONLY_TABLES)
        )
