"""``multi_sig_approvals`` and their signatures (DESIGN §7)."""

from __future__ import annotations

import uuid

from django.db import models

from approvals.choices import ApprovalMode, ApprovalStatus, Decision


class ApprovalRequest(models.Model):
    """A request for signatures on one exact action payload.

    ``payload_hash`` binds it: only the payload it was opened for can execute
    under it. ``current_approvals`` only grows through a conditional UPDATE
    that requires ``status = pending``, so quorum is reached exactly once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action_reference = models.UUIDField(unique=True, help_text="the action's id")
    action_type = models.CharField(max_length=64)
    payload = models.JSONField()
    payload_hash = models.CharField(max_length=64)
    summary = models.JSONField(default=dict)
    mode = models.CharField(max_length=8, choices=ApprovalMode.choices)
    initiator_id = models.CharField(max_length=255)
    initiator_role = models.CharField(max_length=32)
    initiator_roles = models.JSONField(default=list)
    initiator_kind = models.CharField(max_length=16, default="jwt")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    required_approvals = models.PositiveSmallIntegerField()
    current_approvals = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    approval_token = models.CharField(max_length=64, null=True, blank=True)
    token_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "multi_sig_approvals"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="approval_status_exp"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(required_approvals__gte=1), name="approval_needs_1"
            ),
        ]

    def __str__(self) -> str:
        signed = f"{self.current_approvals}/{self.required_approvals}"
        return f"{self.action_type} {self.status} {signed}"


class ApprovalSignature(models.Model):
    """One person's decision on a request; at most one per person."""

    id = models.BigAutoField(primary_key=True)
    approval = models.ForeignKey(
        ApprovalRequest, on_delete=models.PROTECT, related_name="signatures"
    )
    signer_id = models.CharField(max_length=255)
    signer_role = models.CharField(max_length=32)
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        db_table = "multi_sig_signatures"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["approval", "signer_id"], name="one_signature_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.signer_id} {self.decision}"
