"""Reading the audit trail: lists, keyset chunks for exports, chain walks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from audit.chain import GENESIS, hash_holds
from audit.choices import BreakCode
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
class Break:
    """One row where the chain does not hold."""

    seq: int
    id: str
    reason: str  # a short English sentence
    code: str  # BreakCode: stable, for programs


@dataclass(frozen=True)
class ChainReport:
    valid: bool
    checked: int
    broken: tuple[Break, ...]
    truncated: bool  # more than max_broken breaks existed
    last_seq: int  # the last row checked (0 if none)
    last_hash: str  # its hash (GENESIS if none)
    found: int = 0  # breaks found, the ones past max_broken included


VERIFY_CHUNK = 2000


def action_log_verify(
    *,
    after_seq: int = 0,
    prev_hash: str = GENESIS,
    max_broken: int = 100,
    progress: Callable[[int], None] | None = None,
    until_seq: int | None = None,
    also: Callable[[list[OpsActionLog]], Iterable[Break]] | None = None,
    stop: Callable[[], bool] | None = None,
) -> ChainReport:
    """Walk the rows after ``after_seq`` in ``seq`` order, the first linking
    to ``prev_hash``, and name every break (the first ``max_broken``; rows
    are checked to the end either way). Keyset chunks: constant memory;
    ``progress(checked)`` after each one.

    After a break the walk links on from the row's own stored hash, so each
    tampering is named once: an edited row is its own ``hash_mismatch``; an
    edited row whose hash was recomputed is the next row's
    ``prev_hash_mismatch``; a deleted row is a ``missing_rows`` gap at the
    row after it, whose link is then not checked (what it linked to is
    gone). Rows renumbered and re-hashed after a deletion hold as a chain:
    only the signed checkpoints can show those.

    ``until_seq`` ends the walk there (the log as it stood); ``also(rows)``
    adds the breaks of a further check of each chunk; ``stop()``, asked after
    each chunk, ends the walk early: ``last_seq``/``last_hash`` then say
    where to go on from."""
    broken: list[Break] = []
    found = checked = last_seq = 0
    expected, prev, last_hash = after_seq + 1, prev_hash, GENESIS
    rows_after = OpsActionLog.objects.filter(seq__gt=after_seq)
    if until_seq is not None:
        rows_after = rows_after.filter(seq__lte=until_seq)
    for rows in action_log_chunks(rows_after, chunk=VERIFY_CHUNK):
        found_here: list[Break] = []
        for row in rows:
            for code, reason in _breaks(row, expected, prev):
                found_here.append(Break(row.seq, str(row.id), reason, str(code)))
            expected, prev = row.seq + 1, row.hash
        if also is not None:
            found_here += also(rows)
        found += len(found_here)
        broken += found_here[: max(max_broken - len(broken), 0)]
        checked += len(rows)
        last_seq, last_hash = rows[-1].seq, rows[-1].hash
        if progress is not None:
            progress(checked)
        # a short chunk is the last: nothing is left to stop before
        if len(rows) == VERIFY_CHUNK and stop is not None and stop():
            break
    return ChainReport(
        valid=found == 0,
        checked=checked,
        broken=tuple(broken),
        truncated=found > len(broken),
        last_seq=last_seq,
        last_hash=last_hash,
        found=found,
    )


def _breaks(row: OpsActionLog, expected: int, prev: str) -> Iterator[tuple[str, str]]:
    """What is wrong with ``row``, when ``expected`` is the seq it should
    have and ``prev`` the hash it should link to."""
    if row.seq != expected:
        last = row.seq - 1
        missing = f"seq {last}" if last == expected else f"seqs {expected} to {last}"
        yield BreakCode.MISSING_ROWS, f"Rows are missing before this one: {missing}."
    elif row.prev_hash != prev:
        before = f"seq {expected - 1}" if expected > 1 else "the start of the chain"
        yield (
            BreakCode.PREV_HASH_MISMATCH,
            f"Its prev_hash is not the hash of {before}: that row was rewritten, "
            "or this link was.",
        )
    if not hash_holds(row):
        yield BreakCode.HASH_MISMATCH, "Its content does not match its hash."


def action_requested_at(action_id: uuid.UUID) -> datetime | None:
    """When the action ``action_id`` was asked for, if it waited for
    signatures (its ``requested`` row)."""
    return (
        OpsActionLog.objects.filter(action_id=action_id, status="requested")
        .values_list("created_at", flat=True)
        .first()
    )
