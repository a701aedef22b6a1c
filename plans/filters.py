import uuid
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from molam_ops.lib.filters import UtcIsoDateTimeFilter
from plans.choices import PlanSource, PlanStatus, PlanType, SuggestionStatus
from plans.models import Plan, PlanPayout, Suggestion


class PlanFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PlanStatus.choices)
    plan_type = django_filters.MultipleChoiceFilter(choices=PlanType.choices)
    source = django_filters.MultipleChoiceFilter(choices=PlanSource.choices)
    created_by = django_filters.CharFilter()
    created_from = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_to = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Plan
        fields = ["status", "plan_type", "source", "created_by"]


class SuggestionFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=SuggestionStatus.choices)
    source = django_filters.MultipleChoiceFilter(choices=PlanSource.choices)

    class Meta:
        model = Suggestion
        fields = ["status", "source"]


class _StepIndexField(forms.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=0, max_value=2**31 - 1, **kwargs)

    def to_python(self, value: Any) -> int | None:
        # int() reads any Unicode digit; an index is written in ASCII
        if isinstance(value, str) and not value.isascii():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        result: int | None = super().to_python(value)
        return result


class _CurrencyField(forms.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(r"^[A-Z]{3}$", max_length=3, **kwargs)


class _StepIndexFilter(django_filters.Filter):
    field_class = _StepIndexField


class _CurrencyFilter(django_filters.Filter):
    field_class = _CurrencyField


class PlanPayoutFilter(django_filters.FilterSet):
    """``?step=`` (index), ``?bank_id=`` (the bank a payout leaves or joins),
    ``?currency=`` (ISO code)."""

    step = _StepIndexFilter(field_name="step_index")
    bank_id = django_filters.UUIDFilter(method="filter_bank")
    currency = _CurrencyFilter(field_name="currency")

    class Meta:
        model = PlanPayout
        fields = ["step", "bank_id", "currency"]

    def filter_bank(
        self, queryset: QuerySet[PlanPayout], name: str, value: uuid.UUID
    ) -> QuerySet[PlanPayout]:
        return queryset.filter(Q(from_bank_id=value) | Q(to_bank_id=value))
