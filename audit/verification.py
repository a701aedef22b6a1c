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
from dataclasses import asdict, dataclass, replace
from typing import Any

from audit import tree
from audit.chain import GENESIS
from audit.checkpoints import newest_trusted_checkpoint, signature_holds
from audit.choices import BreakCode
from audit.models import AuditCheckpoint, OpsActionLog
from audit.selectors import Break, ChainReport, action_log_verify


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


@dataclass(frozen=True)
class Walk:
    """A verification under way: what a worker keeps between the slices of
    a long one (``to_json``), and what the next slice goes on from."""

    full: bool
    start_seq: int  # the trusted checkpoint's size (0: from the first row)
    checkpoint_size: int | None  # the checkpoint the report names
    until_seq: int | None  # the log as it stood when asked; None: to its end
    after_seq: int  # the last row walked
    prev_hash: str
    checked: int = 0
    found: int = 0
    breaks: tuple[Break, ...] = ()
    done: bool = False

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "breaks": [asdict(b) for b in self.breaks]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Walk:
        return cls(**{**data, "breaks": tuple(Break(**b) for b in data["breaks"])})


def begin(*, full: bool, at: Start | None = None, until_seq: int | None = None) -> Walk:
    """A walk from ``at`` (by default where a verification begins now), with
    what is already wrong there: the row the trusted checkpoint ends on."""
    at = at or start(full=full)
    findings = list(at.breaks)
    prev_hash = GENESIS
    if at.after_seq:
        row = OpsActionLog.objects.filter(seq=at.after_seq).first()
        if row is None:
            findings.append(
                Break(
                    at.after_seq,
                    "",
                    "The last row of the trusted checkpoint is missing.",
                    BreakCode.MISSING_ROWS,
                )
            )
        else:
            prev_hash = row.hash
            findings += _leaf_breaks([(row.seq, row.hash, str(row.id))])
    return Walk(
        full=full,
        start_seq=at.after_seq,
        checkpoint_size=at.checkpoint.tree_size if at.checkpoint else None,
        until_seq=until_seq,
        after_seq=at.after_seq,
        prev_hash=prev_hash,
        found=len(findings),
        breaks=tuple(findings),
    )


def advance(
    walk: Walk,
    *,
    max_broken: int = 100,
    progress: Callable[[int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Walk:
    """Walk on from ``walk`` to the end (or ``until_seq``), or until
    ``stop()`` says so after a chunk; each chunk's rows are also compared
    with the leaves the stored tree holds for them."""
    covered = tree.stored_size()
    before = walk.checked
    stopped = False

    def leaves(rows: list[OpsActionLog]) -> list[Break]:
        inside = [(r.seq, r.hash, str(r.id)) for r in rows if r.seq <= covered]
        return _leaf_breaks(inside) if inside else []

    def report(n: int) -> None:
        if progress is not None:
            progress(before + n)

    def halt() -> bool:
        nonlocal stopped
        stopped = stop is not None and stop()
        return stopped

    chain = action_log_verify(
        after_seq=walk.after_seq,
        prev_hash=walk.prev_hash,
        max_broken=max(max_broken - len(walk.breaks), 0),
        progress=report,
        until_seq=walk.until_seq,
        also=leaves,
        stop=halt,
    )
    return replace(
        walk,
        after_seq=chain.last_seq if chain.checked else walk.after_seq,
        prev_hash=chain.last_hash if chain.checked else walk.prev_hash,
        checked=walk.checked + chain.checked,
        found=walk.found + chain.found,
        breaks=walk.breaks + chain.broken,
        # stopped after the last chunk there was: the next slice finds none
        done=not stopped,
    )


def conclude(walk: Walk, *, max_broken: int = 100) -> Verification:
    """The report of a finished walk: the rows it walked, what is missing
    at the end, and (``full``) every checkpoint checked."""
    findings = list(walk.breaks)
    findings += _missing_tail(max(walk.after_seq, walk.start_seq))
    if walk.full:
        findings += _checkpoint_breaks()
    # one finding per row and kind, whichever check saw it first
    unique = list({(b.seq, b.code): b for b in reversed(findings)}.values())
    found = len(unique) + (walk.found - len(walk.breaks))
    ordered = sorted(unique, key=lambda b: (b.seq, b.code))[:max_broken]
    report = ChainReport(
        valid=found == 0,
        checked=walk.checked,
        broken=tuple(ordered),
        truncated=found > len(ordered),
        last_seq=walk.after_seq,
        last_hash=walk.prev_hash,
        found=found,
    )
    checkpoint = (
        AuditCheckpoint.objects.filter(tree_size=walk.checkpoint_size).first()
        if walk.checkpoint_size is not None
        else None
    )
    return Verification(report, walk.full, checkpoint)


def verify(
    *,
    full: bool = False,
    max_broken: int = 100,
    progress: Callable[[int], None] | None = None,
    at: Start | None = None,
) -> Verification:
    """One verification, start to end, in this process."""
    walk = advance(begin(full=full, at=at), max_broken=max_broken, progress=progress)
    return conclude(walk, max_broken=max_broken)


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
