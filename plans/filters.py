import django_filters

from molam_ops.lib.filters import UtcIsoDateTimeFilter
from plans.choices import PlanSource, PlanStatus, PlanType, SuggestionStatus
from plans.models import Plan, Suggestion


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
