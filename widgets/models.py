"""``widget_states``: each operator's saved widget state and preferences."""

from __future__ import annotations

from django.db import models

from widgets.choices import WidgetType


class WidgetState(models.Model):
    """One operator's state of one widget type (collapsed panels, a chosen
    currency, the UI language under ``preferences``).

    ``user`` is the principal id, not a foreign key: a JWT caller has no Django
    user (``sub``), a session user is ``user:<pk>`` (molam_ops.identity).
    """

    id = models.BigAutoField(primary_key=True)
    user = models.CharField(max_length=255, db_column="user_id")
    widget_type = models.CharField(max_length=32, choices=WidgetType.choices)
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "widget_states"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "widget_type"], name="one_state_per_user_widget"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.widget_type}"
