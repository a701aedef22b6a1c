"""``treasury_controls``: freezes, bank pauses and feature flags (DESIGN §9)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from django.db import models
from django.utils import timezone


class TreasuryControl(models.Model):
    """A switch on the rails, keyed ``freeze_global``, ``freeze_bank_<id>``,
    ``pause_bank_<id>`` or ``feature:<name>``.

    One row per key; lifting a control clears ``enabled`` rather than deleting
    the row, so the history stays in the audit log and the row in place. A row
    past ``expires_at`` is inactive at once, whatever ``enabled`` says.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=128, unique=True)
    value = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    description = models.CharField(max_length=255, blank=True, default="")
    updated_by = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    # modeltranslation swaps in a manager class it makes at run time, which
    # mypy's Django plugin cannot resolve
    objects: ClassVar[models.Manager[TreasuryControl]]

    class Meta:
        db_table = "treasury_controls"
        ordering = ["key"]
        indexes = [
            models.Index(fields=["enabled", "expires_at"], name="control_active")
        ]

    def __str__(self) -> str:
        return self.key

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.enabled and (self.expires_at is None or self.expires_at > now)


def active_q(now: datetime | None = None) -> models.Q:
    """Filter for controls in force at ``now``."""
    now = now or timezone.now()
    return models.Q(enabled=True) & (
        models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
    )
