"""Reads of plans and suggestions."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from plans.choices import SuggestionStatus
from plans.models import Plan, PlanPayout, Suggestion


def plan_list() -> QuerySet[Plan]:
    # plan_data is ciphertext the API never shows: not fetched for lists
    return Plan.objects.defer("plan_data").order_by("-created_at", "id")


def plan_get(plan_id: uuid.UUID) -> Plan | None:
    return plan_list().filter(pk=plan_id).first()


def plan_payout_list(plan_id: uuid.UUID) -> QuerySet[PlanPayout]:
    """The payouts a plan moves, in step order (its preview's list)."""
    return PlanPayout.objects.filter(plan_id=plan_id).order_by("step_index", "id")


def suggestion_list() -> QuerySet[Suggestion]:
    return Suggestion.objects.order_by("-confidence", "-created_at", "id")


def suggestion_open_list() -> QuerySet[Suggestion]:
    return suggestion_list().filter(status=SuggestionStatus.OPEN)
