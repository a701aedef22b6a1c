"""Plans in the admin: read-only rows (``plan_data`` stays encrypted and is not
shown); "Resume" and "Roll back", as buttons on a plan's page and as list
actions, run ``resume_plan`` and ``rollback_plan`` through the runner (STYLE
rule 11), so roles, signatures above the thresholds and audit rows are the
API's."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from molam_ops.admin_actions import (
    ReadOnlyOpsAdmin,
    confirm_page,
    confirmed_action,
    run_action,
)
from plans.models import Plan


class ResumeForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


class RollbackForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


def _payload(plan: Plan, data: dict[str, Any]) -> dict[str, Any]:
    return {"plan_id": str(plan.pk), "reason": data["reason"]}


def _subject(plan: Plan) -> str:
    return _("Plan %(id)s (%(type)s, %(status)s)") % {
        "id": plan.pk,
        "type": plan.plan_type,
        "status": plan.status,
    }


# (action, form, title, intro, submit) of each recovery button
RECOVERY: dict[str, tuple[str, type[forms.Form], Any, Any, Any]] = {
    "resume": (
        "resume_plan",
        ResumeForm,
        gettext_lazy("Resume the plan"),
        gettext_lazy(
            "Its unfinished steps are settled by what they already did and "
            "queued again; no step runs twice."
        ),
        gettext_lazy("Resume"),
    ),
    "rollback": (
        "rollback_plan",
        RollbackForm,
        gettext_lazy("Roll back the plan"),
        gettext_lazy(
            "The inverse of every done step runs, latest first: payouts and "
            "funds move back, banks it paused resume. Above the approval "
            "thresholds it waits for signatures."
        ),
        gettext_lazy("Roll back"),
    ),
}


@admin.register(Plan)
class PlanAdmin(ReadOnlyOpsAdmin):
    list_display = (
        "id",
        "plan_type",
        "status",
        "source",
        "payout_count",
        "total_amount",
        "currency",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "plan_type", "source")
    search_fields = ("=id", "created_by")
    date_hierarchy = "created_at"
    fields = (
        "id",
        "plan_type",
        "status",
        "source",
        "planner_version",
        "fallback_reason",
        "summary",
        "steps",
        "total_amount",
        "currency",
        "payout_count",
        "approval_required",
        "approval_id",
        "details",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = (
        confirmed_action(
            action="resume_plan",
            description=gettext_lazy("Resume the selected stuck plans…"),
            form_class=ResumeForm,
            payload=_payload,
            subject=_subject,
        ),
        confirmed_action(
            action="rollback_plan",
            description=gettext_lazy("Roll back the selected plans…"),
            form_class=RollbackForm,
            payload=_payload,
            subject=_subject,
        ),
    )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<uuid:plan_id>/resume/",
                wrap(self.recovery_view),
                {"kind": "resume"},
                name="plans_plan_resume",
            ),
            path(
                "<uuid:plan_id>/rollback/",
                wrap(self.recovery_view),
                {"kind": "rollback"},
                name="plans_plan_rollback",
            ),
            *super().get_urls(),
        ]

    def recovery_view(
        self, request: HttpRequest, plan_id: uuid.UUID, kind: str
    ) -> HttpResponse:
        """A plan page's "Resume" / "Roll back" button: confirm, then run."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        plan = get_object_or_404(Plan, pk=plan_id)
        action, form_class, title, intro, submit = RECOVERY[kind]
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            run_action(
                request,
                action,
                _payload(plan, form.cleaned_data),
                subject=_subject(plan),
            )
            return HttpResponseRedirect(
                reverse("admin:plans_plan_change", args=[plan.pk])
            )
        return confirm_page(
            self,
            request,
            title=str(title),
            intro=intro,
            form=form,
            objects=[_subject(plan)],
            submit=str(submit),
        )
