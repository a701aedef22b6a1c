"""What ``GET /api/ops/audit/verify`` checks (DESIGN §3, "Verification that
scales").

By default it starts from the newest checkpoint it trusts — signature valid,
root equal to the stored tree's at its size — and walks only the rows after
it, so its cost follows the rows written since the last tick, not the log's
age. ``full`` walks every row and also checks every checkpoint against the
stored tree, and every covered row against its stored leaf: that is what
names rows rewritten with every later hash recomputed, which the chain alone
cannot show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from audit import tree
from audit.chain import GENESIS
from audit.checkpoints import newest_trusted_checkpoint, signature_holds
from audit.choices import BreakCode
from audit.models import AuditCheckpoint, OpsActionLog
from audit.selectors import Break, ChainReport, action_log_verify

LEAF_CHUNK = 5000


@dataclass(frozen=True)
class Verification:
    report: ChainReport
    full: bool
    # incremental: where the walk started; full: the newest checkpoint
    checkpoint: AuditCheckpoint | None


@dataclass(frozen=True)
class Start:
    after_seq: int
    checkpoint: AuditCheckpoint | None
    breaks: tuple[Break, ...]


def start(*, full: bool) -> Start:
    """Where a verification begins, and what is already wrong with that."""
    if full:
        newest = AuditCheckpoint.objects.order_by("-tree_size").first()
        return Start(0, newest, ())
    trusted = newest_trusted_checkpoint()
    newer = AuditCheckpoint.objects.all()
    if trusted is not None:
        newer = newer.filter(tree_size__gt=trusted.tree_size)
    # a checkpoint that no longer holds is itself a finding, not just a
    # reason to start further back
    untrusted = tuple(_checkpoint_break(cp) for cp in newer.order_by("tree_size"))
    return Start(trusted.tree_size if trusted else 0, trusted, untrusted)


def rows_after(after_seq: int, *, cap: int) -> int:
    """How many rows follow ``after_seq``, counted up to ``cap`` (a LIMITed
    scan of the seq index, never the whole table)."""
    return (
        OpsActionLog.objects.filter(seq__gt=after_seq)
        .order_by("seq")
        .values_list("seq", flat=True)[:cap]
        .count()
    )


def verify(
    *,
    full: bool = False,
    max_broken: int = 100,
    progress: Callable[[int], None] | None = None,
    begin: Start | None = None,
) -> Verification:
    begin = begin or start(full=full)
    findings = list(begin.breaks)
    prev_hash = GENESIS
    if begin.after_seq:
        row = OpsActionLog.objects.filter(seq=begin.after_seq).first()
        if row is None:
            findings.append(
                Break(
                    begin.after_seq,
                    "",
                    "The last row of the trusted checkpoint is missing.",
                    BreakCode.MISSING_ROWS,
                )
            )
        else:
            prev_hash = row.hash
            findings += _leaf_breaks([(row.seq, row.hash, str(row.id))])
    chain = action_log_verify(
        after_seq=begin.after_seq,
        prev_hash=prev_hash,
        max_broken=max_broken,
        progress=progress,
    )
    findings += chain.broken
    findings += _missing_tail(max(chain.last_seq, begin.after_seq))
    if full:
        findings += _checkpoint_breaks()
    findings += _covered_leaf_breaks(begin.after_seq)
    # one finding per row and kind, whichever check saw it first
    unique = list({(b.seq, b.code): b for b in reversed(findings)}.values())
    found = len(unique) + _uncounted(chain)
    ordered = sorted(unique, key=lambda b: (b.seq, b.code))[:max_broken]
    report = replace(
        chain,
        valid=found == 0,
        broken=tuple(ordered),
        truncated=found > len(ordered),
    )
    return Verification(report, full, begin.checkpoint)


def _uncounted(chain: ChainReport) -> int:
    # the chain walk stops collecting at max_broken; it still knows more exist
    return 1 if chain.truncated else 0


def _missing_tail(last_seq: int) -> list[Break]:
    """Rows at the end of the log that the tree took in, or a checkpoint
    signed, and that are gone: no later row's gap can name them."""
    signed = (
        AuditCheckpoint.objects.order_by("-tree_size")
        .values_list("tree_size", flat=True)
        .first()
    )
    covered = max(tree.stored_size(), signed or 0)
    if last_seq >= covered:
        return []
    first = last_seq + 1
    span = f"seq {first}" if first == covered else f"seqs {first} to {covered}"
    return [
        Break(
            first,
            "",
            f"Rows signed into the tree are missing from the end of the log: {span}.",
            BreakCode.MISSING_ROWS,
        )
    ]


def _checkpoint_break(cp: AuditCheckpoint) -> Break:
    return Break(
        cp.tree_size,
        "",
        f"Checkpoint {cp.tree_size} no longer holds: its signature does not "
        "verify, or the stored tree's root at its size is not the one signed.",
        BreakCode.CHECKPOINT_MISMATCH,
    )


def _checkpoint_breaks() -> Iterator[Break]:
    for cp in AuditCheckpoint.objects.order_by("tree_size").iterator():
        try:
            holds = tree.root_at(cp.tree_size).hex() == cp.root_hash
        except tree.TreeError:
            holds = False
        if not (holds and signature_holds(cp)):
            yield _checkpoint_break(cp)


def _covered_leaf_breaks(after_seq: int) -> Iterator[Break]:
    """Rows after ``after_seq`` that the stored tree took in, compared with
    the leaves it keeps (keyset chunks, constant memory)."""
    covered = tree.stored_size()
    after = after_seq
    while after < covered:
        rows = list(
            OpsActionLog.objects.filter(seq__gt=after, seq__lte=covered)
            .order_by("seq")
            .values_list("seq", "hash", "id")[:LEAF_CHUNK]
        )
        if not rows:
            return
        yield from _leaf_breaks([(s, h, str(i)) for s, h, i in rows])
        after = rows[-1][0]


def _leaf_breaks(rows: list[tuple[int, str, str]]) -> list[Break]:
    ids = {seq: row_id for seq, _, row_id in rows}
    return [
        Break(
            seq,
            ids[seq],
            "It is not the row the signed tree holds at its place: it was "
            "rewritten after it was checkpointed.",
            BreakCode.REWRITTEN,
        )
        for seq in tree.stored_leaf_mismatches((s, h) for s, h, _ in rows)
    ]
