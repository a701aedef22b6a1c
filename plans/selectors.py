"""Reads of plans and suggestions."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from plans.choices import SuggestionStatus
from plans.models import Plan, Suggestion


def plan_list() -> QuerySet[Plan]:
    # plan_data is ciphertext the API never shows: not fetched for lists
    return Plan.objects.defer("plan_data").order_by("-created_at", "id")


def plan_get(plan_id: uuid.UUID) -> Plan | None:
    return plan_list().filter(pk=plan_id).first()


def suggestion_list() -> QuerySet[Suggestion]:
    return Suggestion.objects.order_by("-confidence", "-created_at", "id")


def suggestion_open_list() -> QuerySet[Suggestion]:
    return suggestion_list().filter(status=SuggestionStatus.OPEN)
