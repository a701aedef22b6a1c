"""Treasury controls in the admin: read-only rows; freezes, unfreezes, bank
resumes and feature flags go through the ops-action runner (STYLE rule 11),
with the session user's roles (see ``molam_ops.admin_actions``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from controls.flags import flag_state
from controls.keys import FREEZE_GLOBAL, feature_key, freeze_bank_key, pause_bank_key
from controls.models import TreasuryControl
from controls.selectors import flag_get
from molam_ops.admin_actions import (
    ReadOnlyOpsAdmin,
    ReasonForm,
    confirm_page,
    direct_action,
    run_action,
    with_expiry,
)


def _unfreeze_payload(control: TreasuryControl) -> dict[str, Any] | None:
    if control.key == FREEZE_GLOBAL:
        return {"scope": "global"}
    prefix = freeze_bank_key("")
    if control.key.startswith(prefix):
        return {"scope": {"bank_profile_id": control.key.removeprefix(prefix)}}
    return None


def _resume_payload(control: TreasuryControl) -> dict[str, Any] | None:
    prefix = pause_bank_key("")
    if control.key.startswith(prefix):
        return {"bank_profile_id": control.key.removeprefix(prefix)}
    return None


class ControlKindFilter(admin.SimpleListFilter):
    title = gettext_lazy("kind")
    parameter_name = "kind"
    prefixes = {
        "freeze": "freeze_",
        "pause": pause_bank_key(""),
        "feature": feature_key(""),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("freeze", gettext_lazy("Freezes")),
            ("pause", gettext_lazy("Bank pauses")),
            ("feature", gettext_lazy("Feature flags")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[TreasuryControl]
    ) -> QuerySet[TreasuryControl]:
        prefix = self.prefixes.get(self.value() or "")
        return queryset.filter(key__startswith=prefix) if prefix else queryset


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class SetFlagForm(forms.Form):
    name = forms.SlugField(label=gettext_lazy("Name"), max_length=64)
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False)
    percentage = forms.DecimalField(
        label=gettext_lazy("Rollout percentage"),
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        initial=Decimal(100),
    )
    allow = forms.CharField(
        label=gettext_lazy("Allow list (one subject id a line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    deny = forms.CharField(
        label=gettext_lazy("Deny list (one subject id a line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    expires_at = ReasonForm.base_fields["expires_at"]

    def payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        body = {
            "name": data["name"],
            "enabled": data["enabled"],
            "percentage": str(data["percentage"]),
            "allow": _lines(data["allow"]),
            "deny": _lines(data["deny"]),
        }
        return with_expiry(body, data)


def _flag_initial(name: str) -> dict[str, Any]:
    control = flag_get(name) if name else None
    if control is None:
        return {"name": name}
    state = flag_state(control)
    return {
        "name": state.name,
        "enabled": state.enabled,
        "percentage": state.percentage,
        "allow": "\n".join(sorted(state.allow)),
        "deny": "\n".join(sorted(state.deny)),
        "expires_at": state.expires_at,
    }


@admin.register(TreasuryControl)
class TreasuryControlAdmin(ReadOnlyOpsAdmin):
    list_display = (
        "key",
        "enabled",
        "active",
        "expires_at",
        "updated_by",
        "updated_at",
    )
    list_filter = (ControlKindFilter, "enabled")
    search_fields = ("key", "description")
    readonly_fields = (
        "key",
        "value",
        "enabled",
        "expires_at",
        "description",
        "updated_by",
        "created_at",
        "updated_at",
    )
    actions = (
        direct_action(
            action="unfreeze_payouts",
            description=gettext_lazy("Lift the selected freezes"),
            payload=_unfreeze_payload,
        ),
        direct_action(
            action="resume_bank",
            description=gettext_lazy("Resume the selected paused banks"),
            payload=_resume_payload,
        ),
    )

    @admin.display(boolean=True, description=gettext_lazy("active"))
    def active(self, obj: TreasuryControl) -> bool:
        return obj.is_active(timezone.now())

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "freeze-global/",
                wrap(self.freeze_global_view),
                name="controls_treasurycontrol_freeze_global",
            ),
            path(
                "set-flag/",
                wrap(self.set_flag_view),
                name="controls_treasurycontrol_set_flag",
            ),
            *super().get_urls(),
        ]

    def _changelist(self) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:controls_treasurycontrol_changelist")
        )

    def freeze_global_view(self, request: HttpRequest) -> HttpResponse:
        """Freeze all payouts: needs signatures before it takes effect."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            payload = {"scope": "global", "reason": form.cleaned_data["reason"]}
            run_action(
                request,
                "freeze_payouts",
                with_expiry(payload, form.cleaned_data),
                subject=_("Global freeze"),
            )
            return self._changelist()
        return confirm_page(
            self,
            request,
            title=_("Freeze all payouts"),
            intro=_(
                "No payout will be dispatched, at any bank, while the freeze "
                "is in force. It takes effect once enough other approvers "
                "have signed."
            ),
            form=form,
            objects=[],
            submit=_("Request the global freeze"),
        )

    def set_flag_view(self, request: HttpRequest) -> HttpResponse:
        """Create or replace a feature flag (the set-flag action)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = SetFlagForm(request.POST)
            if form.is_valid():
                run_action(
                    request,
                    "set_flag",
                    form.payload(),
                    subject=_("Flag %(name)s") % {"name": form.cleaned_data["name"]},
                )
                return self._changelist()
        else:
            form = SetFlagForm(initial=_flag_initial(request.GET.get("name", "")))
        return confirm_page(
            self,
            request,
            title=_("Set a feature flag"),
            intro=_(
                "The flag is replaced as a whole: deny wins, then allow, then "
                "the percentage of subjects in the rollout."
            ),
            form=form,
            objects=[],
            submit=_("Set the flag"),
        )
