from django.db import models


class ActionStatus(models.TextChoices):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXECUTED = "executed"
    FAILED = "failed"


class BreakCode(models.TextChoices):
    """Why a row breaks the hash chain (``GET /api/ops/audit/verify``)."""

    MISSING_ROWS = "missing_rows"  # a gap in seq: rows were deleted
    PREV_HASH_MISMATCH = "prev_hash_mismatch"  # the link to the row before
    HASH_MISMATCH = "hash_mismatch"  # the row's content vs its own hash
    # the row is not the leaf the signed tree holds (rewritten, later hashes
    # recomputed)
    REWRITTEN = "rewritten"
    # a signed checkpoint no longer matches the stored tree, or its signature
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"


class JobKind(models.TextChoices):
    VERIFY = "verify"
    EXPORT = "export"


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
