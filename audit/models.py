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
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    seq = models.BigIntegerField(unique=True)
    action_id = models.UUIDField(db_index=True)
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
            models.Index(fields=["created_at"], name="audit_created_idx"),
            models.Index(fields=["actor_id", "created_at"], name="audit_actor_idx"),
            models.Index(fields=["action_type", "created_at"], name="audit_type_idx"),
            models.Index(fields=["status", "created_at"], name="audit_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.action_type} {self.status} by {self.actor_id}"


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
