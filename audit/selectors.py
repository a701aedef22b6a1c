"""Reading the audit trail: lists, keyset chunks for exports, chain walks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from audit.chain import GENESIS, row_hash
from audit.models import OpsActionLog


def action_log_list() -> QuerySet[OpsActionLog]:
    """Newest first, in the order the list's keyset pages follow
    (audit/pagination.py) and its indexes hold."""
    return OpsActionLog.objects.all().order_by("-created_at", "-seq")


def action_log_last_seq() -> int:
    """The newest row's ``seq`` (0 when the log is empty)."""
    return (
        OpsActionLog.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    )


def action_log_chunks(
    qs: QuerySet[OpsActionLog], *, chunk: int = 1000
) -> Iterator[list[OpsActionLog]]:
    """Keyset pages in ``seq`` order: constant memory however long the log."""
    after = 0
    while True:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[:chunk])
        if not rows:
            return
        yield rows
        after = rows[-1].seq


@dataclass(frozen=True)
class ChainReport:
    valid: bool
    checked: int
    first_broken_seq: int | None = None
    first_broken_id: str | None = None
    reason: str = ""


def action_log_verify() -> ChainReport:
    """Walk the chain in order and name the first row that does not hold."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    for rows in action_log_chunks(OpsActionLog.objects.all(), chunk=2000):
        for row in rows:
            reason = ""
            if row.seq != expected_seq:
                reason = f"missing rows before seq {row.seq}"
            elif row.prev_hash != prev_hash:
                reason = "prev_hash does not match the previous row"
            elif row_hash(row) != row.hash:
                reason = "row content does not match its hash"
            if reason:
                return ChainReport(False, checked, row.seq, str(row.id), reason)
            checked += 1
            prev_hash, expected_seq = row.hash, row.seq + 1
    return ChainReport(True, checked)


def action_requested_at(action_id: uuid.UUID) -> datetime | None:
    """When the action ``action_id`` was asked for, if it waited for
    signatures (its ``requested`` row)."""
    return (
        OpsActionLog.objects.filter(action_id=action_id, status="requested")
        .values_list("created_at", flat=True)
        .first()
    )
