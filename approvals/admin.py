"""Multi-signature requests in the admin: read-only rows; signing and
declining run the ``approve`` action through the runner (STYLE rule 11), so
the initiator, a second signature by the same person or an ineligible role
are refused with the same codes and audit rows as on the API."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from approvals import binding
from approvals.models import ApprovalRequest, ApprovalSignature
from approvals.summaries import action_label, summary
from molam_ops.admin_actions import (
    CommentForm,
    ReadOnlyInline,
    ReadOnlyOpsAdmin,
    confirmed_action,
)


def _decision(decision: str) -> Any:
    def payload(approval: ApprovalRequest, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "approval_id": str(approval.pk),
            "decision": decision,
            "comment": data["comment"],
        }

    return payload


def _subject(approval: ApprovalRequest) -> str:
    return gettext("Request %(id)s (%(what)s, %(signed)s signatures)") % {
        "id": approval.pk,
        "what": action_label(approval),
        "signed": f"{approval.current_approvals}/{approval.required_approvals}",
    }


class ApprovalSignatureInline(ReadOnlyInline):
    model = ApprovalSignature
    fields = ("signer_id", "signer_role", "decision", "comment", "created_at")
    readonly_fields = fields


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyOpsAdmin):
    list_display = (
        "action_type",
        "status",
        "signatures",
        "initiator_id",
        "created_at",
        "expires_at",
    )
    list_filter = ("status", "action_type")
    search_fields = ("=id", "=action_reference", "initiator_id")
    date_hierarchy = "created_at"
    inlines = (ApprovalSignatureInline,)
    fields = (
        "id",
        "action_type",
        "action_reference",
        "status",
        "required_approvals",
        "current_approvals",
        "initiator_id",
        "initiator_role",
        "summary_text",
        "payload_pretty",
        "binding_state",
        "created_at",
        "expires_at",
        "decided_at",
    )
    readonly_fields = fields
    actions = (
        confirmed_action(
            action="approve",
            description=_("Sign (approve) the selected requests…"),
            form_class=CommentForm,
            payload=_decision("approve"),
            intro=_("You sign these requests; at quorum the action executes:"),
            name="approve_selected",
            subject=_subject,
        ),
        confirmed_action(
            action="approve",
            description=_("Decline the selected requests…"),
            form_class=CommentForm,
            payload=_decision("decline"),
            intro=_("One decline rejects a request:"),
            name="decline_selected",
            subject=_subject,
        ),
    )

    @admin.display(description=_("signatures"))
    def signatures(self, obj: ApprovalRequest) -> str:
        return f"{obj.current_approvals}/{obj.required_approvals}"

    @admin.display(description=_("summary"))
    def summary_text(self, obj: ApprovalRequest) -> str:
        return summary(obj)

    @admin.display(description=_("binding"))
    def binding_state(self, obj: ApprovalRequest) -> str:
        if not obj.binding:
            return gettext("not sealed (closed before keyed bindings)")
        if binding.is_intact(obj):
            return gettext("intact (key %(key)s)") % {"key": obj.binding_key_id}
        return gettext("DOES NOT VERIFY: changed outside the application")

    @admin.display(description=_("payload (what is signed)"))
    def payload_pretty(self, obj: ApprovalRequest) -> Any:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2))
