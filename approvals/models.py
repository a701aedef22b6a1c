"""``multi_sig_approvals`` and their signatures (DESIGN §7)."""

from __future__ import annotations

import uuid

from django.db import models

from approvals.choices import ApprovalMode, ApprovalStatus, Decision


class ApprovalRequest(models.Model):
    """A request for signatures on one exact action payload.

    ``binding`` is a keyed MAC (approvals/binding.py) over what is approved:
    the action, its canonical payload, the initiator, the number of signatures
    and the deadline. The key is not in the database, so a role that can write
    this table still cannot change what executes under it. ``target_key``
    names the thing acted on: one pending request per thing.
    ``current_approvals`` only grows through a conditional UPDATE that requires
    ``status = pending``, so quorum is reached exactly once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action_reference = models.UUIDField(unique=True, help_text="the action's id")
    action_type = models.CharField(max_length=64)
    payload = models.JSONField()
    target_key = models.CharField(
        max_length=64, help_text="SHA-256 of the action type and its target"
    )
    binding = models.CharField(max_length=64)
    binding_key_id = models.CharField(max_length=32)
    facts = models.JSONField(
        default=dict, help_text="what the summary sentence is rendered from"
    )
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
    token_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "multi_sig_approvals"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="approval_status_exp"),
            models.Index(fields=["target_key"], name="approval_target"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(required_approvals__gte=1), name="approval_needs_1"
            ),
            # a second request for the same thing while one waits is refused
            # (409 approval_pending); under concurrency this index decides
            models.UniqueConstraint(
                fields=["target_key"],
                condition=models.Q(status="pending"),
                name="one_pending_approval_per_target",
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
    # keyed like the request's binding: a row written by anything but the app
    # (a database role inserting a "signature") does not count
    mac = models.CharField(max_length=64)
    key_id = models.CharField(max_length=32)

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
