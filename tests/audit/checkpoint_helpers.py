"""What the checkpoint tests share: appending rows through the log's only
writer, exporting as a client does, and a superuser's rewrite of the log."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import connection, transaction
from rest_framework.test import APIClient

from audit import triggers
from audit.chain import GENESIS, row_hash
from audit.models import OpsActionLog
from audit.services import append_row


def append(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            append_row(
                action_id=uuid.uuid4(),
                actor_id="alice",
                actor_role="pay_admin",
                action_type="pause_bank",
                status="executed",
                target={"bank": f"b{i}"},
                details={"i": i},
            )


def export(client: APIClient) -> list[dict[str, Any]]:
    """The JSON export, as a client reads it (tests/audit/test_actions_export.py)."""
    from tests.audit.test_actions_export import read_stream

    resp = client.get("/api/ops/actions/export?format=json")
    assert resp.status_code == 200
    rows: list[dict[str, Any]] = json.loads(read_stream(resp)[0])
    return rows


def delete_and_rehash(seq: int) -> None:
    """A superuser removes row ``seq`` and renumbers and re-hashes every later
    row so the chain is valid again (triggers dropped, raw SQL)."""
    table = OpsActionLog._meta.db_table
    pk = OpsActionLog._meta.pk
    assert pk is not None
    triggers.drop(connection, [table])
    try:
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {table} WHERE seq = %s", [seq])
        prev = GENESIS
        for row in OpsActionLog.objects.order_by("seq"):
            old_seq = row.seq
            if old_seq > seq:
                row.seq = old_seq - 1
            row.prev_hash = prev
            row.hash = row_hash(row)
            with connection.cursor() as cur:
                cur.execute(
                    f"UPDATE {table} SET seq = %s, prev_hash = %s, hash = %s "
                    "WHERE id = %s",
                    [
                        row.seq,
                        row.prev_hash,
                        row.hash,
                        pk.get_db_prep_value(row.id, connection),
                    ],
                )
            prev = row.hash
    finally:
        triggers.install(connection, [table])
