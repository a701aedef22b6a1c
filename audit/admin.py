from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditCheckpoint, OpsActionLog
from molam_ops.identity import principal_from_user


def holds_ops_role(request: HttpRequest) -> bool:
    """The session user is an operator: a member of a role group (DESIGN §4),
    as every caller of ``GET /api/ops/actions`` is."""
    # asked several times per admin page: one groups query per request
    if hasattr(request, "_holds_ops_role"):
        return bool(request._holds_ops_role)
    principal = principal_from_user(getattr(request, "user", None))
    holds = principal is not None and bool(principal.roles)
    # a per-request attribute of ours, which HttpRequest does not declare
    request._holds_ops_role = holds  # type: ignore[attr-defined]
    return holds


class ReadOnlyForOperators(admin.ModelAdmin):
    """Every operator may read (as through the API: every GET is open to the
    three roles), without a Django permission of its own; nobody, the
    superuser included, may add, change or delete."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or holds_ops_role(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or holds_ops_role(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OpsActionLog)
class OpsActionLogAdmin(ReadOnlyForOperators):
    """Read-only: the trail is append-only, and only the runner appends.

    Every operator may read it here as through the API (every GET is open to
    the three roles), without a Django permission of its own; nobody, the
    superuser included, may add, change or delete a row.
    """

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


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyForOperators):
    """Signed tree heads of the log (append-only; beat signs them)."""

    list_display = ("tree_size", "timestamp", "root_hash", "key_id")
    show_full_result_count = False
