"""Kernel tables: idempotency reservations, the event outbox, and the link
from a Django user to its Molam ID subject."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class IdempotencyRecord(models.Model):
    """A caller's ``Idempotency-Key``: reserved before the effect, completed with
    the response in the effect's own transaction (DESIGN §5)."""

    class Status(models.TextChoices):
        IN_FLIGHT = "in_flight"
        COMPLETED = "completed"

    scope = models.CharField(max_length=255, help_text="The caller (principal id).")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    action_type = models.CharField(max_length=64)
    action_id = models.UUIDField()
    status = models.CharField(max_length=16, choices=Status.choices)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "ops_idempotency_keys"
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="uniq_idem_scope_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope}/{self.key} ({self.status})"


class OutboxEvent(models.Model):
    """An event written with its action's effect, relayed to the bus afterwards.

    ``id`` is the relay order; ``sent_at`` marks what the bus acknowledged.
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True)
    topic = models.CharField(max_length=128)
    action_id = models.UUIDField(null=True)
    payload = models.JSONField()
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "ops_outbox"
        indexes = [
            models.Index(
                fields=["id"],
                name="outbox_unsent_idx",
                condition=models.Q(sent_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.event_id}"


class OperatorIdentity(models.Model):
    """The Molam ID subject of a Django user: the one principal id a person
    has, whichever credential they present (a bearer token carries it as
    ``sub``; a session or an admin action finds it here). A user without one
    acts with no role."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="molam_identity",
    )
    molam_subject = models.CharField(
        max_length=255,
        unique=True,
        help_text="The person's Molam ID subject (the sub claim of their tokens).",
    )

    class Meta:
        db_table = "ops_operator_identities"
        verbose_name = "Molam ID identity"

    def __str__(self) -> str:
        return self.molam_subject
