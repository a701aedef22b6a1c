from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import OpsActionLog


@admin.register(OpsActionLog)
class OpsActionLogAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only, and only the runner appends."""

    list_display = (
        "seq",
        "created_at",
        "action_type",
        "status",
        "actor_id",
        "actor_role",
    )
    list_filter = ("status", "action_type", "actor_role")
    search_fields = ("actor_id", "action_type", "=action_id", "=idempotency_key")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
