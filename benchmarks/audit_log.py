"""A valid audit log of N rows, written fast, for benchmarks/audit_scale.py.

Rows are built as the product's only writer would build them — the same
fields, hashed with :func:`audit.chain.hash_of`, each linking to the one
before — and copied in with ``COPY`` (the append-only triggers refuse
UPDATE, DELETE and TRUNCATE, not INSERT), in seq order, so the log verifies
and the Merkle tree and checkpoints are built over it by the product's own
beat task. A run with ``--keep-db`` adds only the rows that are missing.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

ACTORS = [f"bench-actor-{i:02d}" for i in range(50)]
ACTION_TYPES = [
    "pause_bank",
    "resume_bank",
    "freeze_payouts",
    "unfreeze_payouts",
    "retry_payout",
    "dispute_payout",
    "execute_plan",
    "generate_plan",
]
STATUSES = ["executed", "executed", "executed", "rejected", "failed", "accepted"]
# one row every 50 ms of history: 1M rows are the last ~14 hours
SPACING = timedelta(milliseconds=50)
BATCH = 20_000


def _row(seq: int, prev: str, at: datetime) -> dict[str, Any]:
    from audit.chain import hash_of
    from molam_ops.lib.fields import iso_utc

    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "seq": seq,
        "action_id": str(uuid.uuid4()),
        "actor_id": ACTORS[seq % len(ACTORS)],
        "actor_role": "pay_admin",
        "action_type": ACTION_TYPES[seq % len(ACTION_TYPES)],
        "target": {"bank_profile_id": str(uuid.UUID(int=seq % 97))},
        "idempotency_key": f"bench-{seq}",
        "status": STATUSES[seq % len(STATUSES)],
        "details": {"n": seq, "amount": f"{seq % 10_000}.50", "currency": "XOF"},
        "ip": None,
        "user_agent": "audit-scale",
        "request_id": "",
        "created_at": iso_utc(at),
        "prev_hash": prev,
    }
    values["hash"] = hash_of(values)
    values["_at"] = at
    return values


def last_row() -> tuple[int, str, datetime | None]:
    from audit.chain import GENESIS
    from audit.models import OpsActionLog

    last = (
        OpsActionLog.objects.order_by("-seq")
        .values_list("seq", "hash", "created_at")
        .first()
    )
    return (last[0], last[1], last[2]) if last else (0, GENESIS, None)


def build(rows: int) -> float:
    """Append rows until the log holds ``rows``; the rows per second built."""
    from django.db import connection

    from audit import partitions

    seq, prev, last_at = last_row()
    if seq >= rows:
        return 0.0
    partitions.ensure(
        connection,
        upto_seq=rows,
        partition_rows=_partition_rows(),
    )
    # the history ends a little before now, so rows appended later are newer
    now = datetime.now(UTC)
    base = (last_at or now - SPACING * (rows + 1000)) - SPACING * seq
    started, todo = time.monotonic(), rows - seq
    while seq < rows:
        batch = []
        for _ in range(min(BATCH, rows - seq)):
            seq += 1
            row = _row(seq, prev, base + SPACING * seq)
            prev = row["hash"]
            batch.append(row)
        _copy(connection, batch)
        if seq % 200_000 < BATCH or seq == rows:
            print(f"  log: {seq:,} rows", flush=True)
    return todo / (time.monotonic() - started)


def _partition_rows() -> int:
    from django.conf import settings

    return int(settings.AUDIT_PARTITION_ROWS)


def _copy(connection: Any, batch: list[dict[str, Any]]) -> None:
    from django.db import transaction

    from audit.serializers import EXPORT_FIELDS  # the table's columns, in order

    with transaction.atomic(), connection.cursor() as cur:
        raw = cur.cursor  # psycopg's own cursor: COPY
        with raw.copy(
            f"COPY ops_actions_log ({', '.join(EXPORT_FIELDS)}) FROM STDIN"
        ) as copy:
            for row in batch:
                copy.write_row(
                    [
                        json.dumps(row[c])
                        if c in ("target", "details")
                        else (row["_at"] if c == "created_at" else row[c])
                        for c in EXPORT_FIELDS
                    ]
                )
