"""``ops_actions_log`` as a table partitioned by ``seq`` ranges (PostgreSQL).

The log is kept for ever, so on PostgreSQL it is range-partitioned: every
partition holds a contiguous range of ``seq`` (``AUDIT_PARTITION_ROWS`` rows),
which keeps ``PRIMARY KEY (seq)`` global, as the hash chain and the Merkle
leaf index need (a unique key of a partitioned table must include its
partition key, so partitions by month could not enforce it). ``id`` keeps an
index of its own in every partition; it is unique because it is a UUID4.

Partitions are made ahead of the rows by ``ops_actions_log_ensure_partitions``,
a ``SECURITY DEFINER`` function owned by the table's owner: the app role, which
may only SELECT and INSERT, may call it (beat does, ``audit.tasks``) and so
gets partitions owned by the owner, which it can neither alter, drop nor
truncate. BEFORE UPDATE/DELETE row triggers of the parent are cloned onto each
partition by PostgreSQL; the statement-level TRUNCATE trigger is not, so the
function gives every partition its own. SQLite keeps one plain table.
"""

from __future__ import annotations

from typing import Any

TABLE = "ops_actions_log"
FUNCTION = "ops_actions_log_ensure_partitions"
TRUNCATE_TRIGGER = "ops_actions_log_no_truncate"
# one call makes at most this many partitions: a caller (the app role may
# call) cannot fill the catalog with tiny partitions
MAX_NEW_PER_CALL = 100
# serialises callers: two beats must not both create the next partition
LOCK_ID = 0x61756469745F70  # "audit_p"

# The highest upper bound is read back from each partition's bound
# ("FOR VALUES FROM ('1') TO ('1001')"): the catalog is the one record of them.
FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(upto_seq bigint, partition_rows bigint)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = %(schema)s, pg_temp AS $$
DECLARE
    hi bigint;
    made integer := 0;
    part text;
BEGIN
    IF partition_rows IS NULL OR partition_rows < 1 OR upto_seq IS NULL THEN
        RAISE EXCEPTION '{FUNCTION}: bad arguments (%%, %%)', upto_seq, partition_rows
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock({LOCK_ID});
    SELECT max(substring(pg_get_expr(c.relpartbound, c.oid)
                         FROM 'TO \\(''?(-?\\d+)''?\\)')::bigint)
      INTO hi
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = '{TABLE}'::regclass;
    hi := coalesce(hi, 1);
    -- rows upto_seq + 1 .. upto_seq + partition_rows always have a home
    WHILE hi <= upto_seq + partition_rows LOOP
        IF made >= {MAX_NEW_PER_CALL} THEN
            RAISE EXCEPTION '{FUNCTION}: more than {MAX_NEW_PER_CALL} partitions'
                USING ERRCODE = 'program_limit_exceeded';
        END IF;
        part := format('{TABLE}_p%%s', lpad(hi::text, 12, '0'));
        EXECUTE format(
            'CREATE TABLE %%I PARTITION OF {TABLE} FOR VALUES FROM (%%s) TO (%%s)',
            part, hi, hi + partition_rows);
        EXECUTE format(
            'CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON %%I '
            'FOR EACH STATEMENT EXECUTE FUNCTION ops_actions_log_refuse()', part);
        hi := hi + partition_rows;
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;
"""  # noqa: S608 - names are this module's constants


def _partitions(cur: Any) -> list[str]:
    cur.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
        [TABLE],
    )
    return [r[0] for r in cur.fetchall()]


def is_partitioned(connection: Any) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cur.fetchone()
    return row is not None and row[0] == "p"


def partition_names(connection: Any) -> list[str]:
    """The partitions of the log, oldest first (none on SQLite)."""
    if not is_partitioned(connection):
        return []
    with connection.cursor() as cur:
        return _partitions(cur)


def install_function(connection: Any) -> None:
    """(Re)create the function as the current role, its owner. It stays
    executable by PUBLIC: only the owner and the app role may connect to the
    database (deploy/postgres/initdb), and the app role is meant to call it."""
    with connection.cursor() as cur:
        cur.execute("SELECT current_schema()")
        schema = connection.ops.quote_name(cur.fetchone()[0])
        cur.execute(FUNCTION_SQL % {"schema": schema})


def ensure(connection: Any, *, upto_seq: int, partition_rows: int) -> int:
    """Make the partitions missing up to ``upto_seq`` plus one full partition of
    headroom; returns how many were made (0 on SQLite)."""
    if not is_partitioned(connection):
        return 0
    with connection.cursor() as cur:
        cur.execute(f"SELECT {FUNCTION}(%s, %s)", [upto_seq, partition_rows])
        return int(cur.fetchone()[0])


def headroom(connection: Any) -> int | None:
    """How many more rows fit in the partitions made so far (None: not
    partitioned)."""
    if not is_partitioned(connection):
        return None
    with connection.cursor() as cur:
        cur.execute(
            "SELECT max(substring(pg_get_expr(c.relpartbound, c.oid) "
            "FROM 'TO \\(''?(-?\\d+)''?\\)')::bigint) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        hi = cur.fetchone()[0] or 1
        cur.execute(f"SELECT coalesce(max(seq), 0) FROM {TABLE}")  # noqa: S608
        return int(hi) - 1 - int(cur.fetchone()[0])


def install_truncate_triggers(connection: Any) -> None:
    """Each partition's own TRUNCATE trigger (PostgreSQL does not clone
    statement triggers); called with the parent's, by ``audit.triggers``."""
    if not is_partitioned(connection):
        return
    with connection.cursor() as cur:
        for part in _partitions(cur):
            q = connection.ops.quote_name(part)
            cur.execute(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {q}")
            cur.execute(
                f"CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {q} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ops_actions_log_refuse()"
            )


def drop_truncate_triggers(connection: Any) -> None:
    if not is_partitioned(connection):
        return
    with connection.cursor() as cur:
        for part in _partitions(cur):
            q = connection.ops.quote_name(part)
            cur.execute(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {q}")


def _indexes(schema_editor: Any, model: Any) -> None:
    """The model's indexes, and those of its ``db_index`` fields, on the
    partitioned parent (PostgreSQL makes each partition's own)."""
    for index in model._meta.indexes:
        schema_editor.add_index(model, index)
    for field in model._meta.local_fields:
        if field.db_index and not field.unique and not field.primary_key:
            schema_editor.execute(
                f"CREATE INDEX {TABLE}_{field.column}_idx ON {TABLE} ({field.column})"
            )
    # ``id`` is the model's pk but cannot be a unique key here (it is not the
    # partition key): an index per partition, found by lookups on each
    schema_editor.execute(f"CREATE INDEX {TABLE}_id_idx ON {TABLE} (id)")


def partition(schema_editor: Any, model: Any, *, partition_rows: int) -> None:
    """Turn the plain table into the partitioned one, rows kept (PostgreSQL,
    inside the migration's transaction). The old table is renamed, the new
    one made LIKE it, the rows copied (an INSERT: the append-only triggers
    do not object) and the old one dropped; then indexes, then triggers."""
    from audit import triggers

    connection = schema_editor.connection
    old = f"{TABLE}_unpartitioned"
    with connection.cursor() as cur:
        cur.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        cur.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
        cur.execute(
            f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS "
            "INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS, "
            f"CONSTRAINT {TABLE}_seq_pkey PRIMARY KEY (seq)) PARTITION BY RANGE (seq)"
        )
        install_function(connection)
        cur.execute(f"SELECT coalesce(max(seq), 0), count(*) FROM {old}")  # noqa: S608
        top, count = cur.fetchone()
        ensure(connection, upto_seq=top, partition_rows=partition_rows)
        cur.execute(f"INSERT INTO {TABLE} SELECT * FROM {old} ORDER BY seq")  # noqa: S608
        cur.execute(f"SELECT count(*) FROM {TABLE}")  # noqa: S608
        copied = cur.fetchone()[0]
        if copied != count:  # pragma: no cover - the INSERT would have failed
            raise RuntimeError(f"copied {copied} of {count} audit rows")
        cur.execute(f"DROP TABLE {old}")
    _indexes(schema_editor, model)
    triggers.install(connection, [TABLE])


def unpartition(schema_editor: Any, model: Any) -> None:
    """The reverse: one plain table as migration 0001 makes it, rows kept."""
    from audit import triggers

    connection = schema_editor.connection
    old = f"{TABLE}_partitioned"
    with connection.cursor() as cur:
        cur.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        cur.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
        # its indexes keep their names: free them for the new table
        cur.execute(
            "SELECT indexrelid::regclass::text FROM pg_index "
            "WHERE indrelid = %s::regclass",
            [old],
        )
        for (name,) in cur.fetchall():
            cur.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
    schema_editor.create_model(model)
    # its indexes now, not at the end of the migration: the operations
    # unapplied next drop and rename them
    for sql in schema_editor.deferred_sql:
        schema_editor.execute(sql)
    schema_editor.deferred_sql = []
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {TABLE} SELECT * FROM {old} ORDER BY seq")  # noqa: S608
        cur.execute(f"DROP TABLE {old}")  # and its partitions
        cur.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}(bigint, bigint)")
    triggers.install(connection, [TABLE])
