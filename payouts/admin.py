"""The rails in the admin, read-mostly: banks, float accounts and payouts are
mirrors of the Payouts and Treasury services, so no form edits them. Bank
pause, resume, freeze and unfreeze are admin actions that run the controls
app's ops actions by name through the runner (so this app imports nothing
from ``controls``); their effect shows in the treasury controls."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from molam_ops.admin_actions import (
    ReadOnlyOpsAdmin,
    ReasonForm,
    confirmed_action,
    direct_action,
    with_expiry,
)
from payouts.models import BankProfile, Payout, TreasuryAccount


def _pause(bank: BankProfile, data: dict[str, Any]) -> dict[str, Any]:
    return with_expiry(
        {"bank_profile_id": str(bank.pk), "reason": data["reason"]}, data
    )


def _freeze(bank: BankProfile, data: dict[str, Any]) -> dict[str, Any]:
    payload = {"scope": {"bank_profile_id": str(bank.pk)}, "reason": data["reason"]}
    return with_expiry(payload, data)


@admin.register(BankProfile)
class BankProfileAdmin(ReadOnlyOpsAdmin):
    list_display = (
        "name",
        "code",
        "country",
        "status",
        "circuit_state",
        "success_rate",
        "avg_latency_ms",
        "last_health_check_at",
    )
    list_filter = ("status", "circuit_state", "country")
    search_fields = ("name", "code")
    actions = (
        confirmed_action(
            action="pause_bank",
            description=_("Pause the selected banks…"),
            form_class=ReasonForm,
            payload=_pause,
            intro=_("No payout is dispatched to these banks until resumed:"),
        ),
        direct_action(
            action="resume_bank",
            description=_("Resume the selected banks"),
            payload=lambda bank: {"bank_profile_id": str(bank.pk)},
        ),
        confirmed_action(
            action="freeze_payouts",
            description=_("Freeze payouts to the selected banks…"),
            form_class=ReasonForm,
            payload=_freeze,
            intro=_("Payouts to these banks are frozen until unfrozen:"),
        ),
        direct_action(
            action="unfreeze_payouts",
            description=_("Unfreeze payouts to the selected banks"),
            payload=lambda bank: {"scope": {"bank_profile_id": str(bank.pk)}},
        ),
    )


@admin.register(TreasuryAccount)
class TreasuryAccountAdmin(ReadOnlyOpsAdmin):
    list_display = ("name", "bank_profile", "currency", "balance", "min_float")
    list_filter = ("currency",)
    list_select_related = ("bank_profile",)
    search_fields = ("name", "bank_profile__name")


@admin.register(Payout)
class PayoutAdmin(ReadOnlyOpsAdmin):
    list_display = (
        "id",
        "bank_profile",
        "amount",
        "currency",
        "status",
        "disputed",
        "attempts",
        "created_at",
    )
    list_filter = ("status", "disputed", "currency", "bank_profile")
    list_select_related = ("bank_profile",)
    search_fields = ("=id", "=bank_reference", "beneficiary")
    date_hierarchy = "created_at"
    show_full_result_count = False
