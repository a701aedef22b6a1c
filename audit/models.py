"""``ops_actions_log``: the append-only audit trail (DESIGN §3)."""

from __future__ import annotations

import uuid

from django.db import models

from audit.choices import ActionStatus, JobKind, JobStatus


class OpsActionLog(models.Model):
    """One row of an action's life; never updated, never deleted.

    Database triggers (migration 0002) refuse UPDATE, DELETE and, on PostgreSQL,
    TRUNCATE. ``seq`` orders the hash chain: ``hash`` covers the row and
    ``prev_hash``, and the unique ``seq`` means two writers can never fork it.

    On PostgreSQL the table is partitioned by ``seq`` ranges (migration 0004,
    audit/partitions.py): there its primary key is ``seq`` and ``id`` has a
    plain index. The model keeps ``id`` as its pk, which holds as well (a
    UUID4 per row) and leaves every lookup by id, the admin's included, as is.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    seq = models.BigIntegerField(unique=True)
    action_id = models.UUIDField()
    actor_id = models.CharField(max_length=255)
    actor_role = models.CharField(max_length=32)
    action_type = models.CharField(max_length=64)
    target = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    status = models.CharField(max_length=16, choices=ActionStatus.choices)
    details = models.JSONField(default=dict)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "ops_actions_log"
        ordering = ["-seq"]
        indexes = [
            # the list's order, (created_at, seq) newest first, after each of
            # its filters: a page is one index range (audit/pagination.py)
            models.Index(fields=["created_at", "seq"], name="audit_created_seq_idx"),
            models.Index(
                fields=["actor_id", "created_at", "seq"], name="audit_actor_seq_idx"
            ),
            models.Index(
                fields=["action_type", "created_at", "seq"], name="audit_type_seq_idx"
            ),
            models.Index(
                fields=["status", "created_at", "seq"], name="audit_status_seq_idx"
            ),
            models.Index(
                fields=["action_id", "created_at", "seq"], name="audit_action_seq_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.action_type} {self.status} by {self.actor_id}"


class AuditTreeNode(models.Model):
    """The hash of one complete, aligned subtree of the RFC 9162 Merkle tree
    over ``ops_actions_log`` (DESIGN §3): level ``L``, index ``j`` covers the
    leaves ``[j·2^L, (j+1)·2^L)``; level 0 holds the leaf hashes, so a row
    rewritten later can be named. Written by beat only (audit/tree.py), in
    ``seq`` order; append-only like the log (audit/triggers.py)."""

    id = models.BigAutoField(primary_key=True)
    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "ops_audit_tree_node"
        constraints = [
            models.UniqueConstraint(
                fields=["level", "index"], name="audit_tree_node_position"
            )
        ]

    def __str__(self) -> str:
        return f"L{self.level}[{self.index}] {self.hash[:12]}"


class AuditCheckpoint(models.Model):
    """A signed tree head (DESIGN §3): the Merkle root over the first
    ``tree_size`` rows, signed with Ed25519 over the RFC 8785 bytes of
    ``{"root_hash", "timestamp", "tree_size"}``; ``note_signature`` signs the
    same head as a C2SP tlog-checkpoint whose first line is ``origin``.
    Append-only."""

    id = models.BigAutoField(primary_key=True)
    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    timestamp = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)
    origin = models.CharField(max_length=255)
    note_signature = models.CharField(max_length=128)

    class Meta:
        db_table = "ops_audit_checkpoint"
        ordering = ["-tree_size"]

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size} {self.root_hash[:12]}"


class AuditJob(models.Model):
    """An export or a chain verification too long for a request, run by a
    worker (audit/jobs.py). Not part of the trail: jobs are deleted, with
    their result file, once ``expires_at`` has passed.

    ``params`` holds what the request asked (``format``, ``filters``,
    ``full``) and the last ``seq`` it could see (``until_seq``), so the
    result is the log as it stood at the request. ``total`` is an estimate
    until the job is done.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=JobKind.choices)
    params = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    progress = models.BigIntegerField(default=0)
    total = models.BigIntegerField(null=True)
    result_file = models.CharField(max_length=255, blank=True, default="")
    error = models.TextField(blank=True, default="")
    requested_by = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True)
    # A long job runs in parts of half the task time limit each, every one a
    # task of its own (as plan execution does): ``part`` is the one queued,
    # ``claimed_at`` when a worker took it (None until then), ``state`` what
    # the next part goes on from.
    part = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True)
    claimed_at = models.DateTimeField(null=True)
    state = models.JSONField(default=dict)
    finished_at = models.DateTimeField(null=True)
    expires_at = models.DateTimeField()

    class Meta:
        db_table = "audit_jobs"
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["requested_by", "created_at"], name="audit_job_owner_idx"
            ),
            models.Index(fields=["expires_at"], name="audit_job_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} {self.status}"
