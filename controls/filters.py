import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from controls.models import TreasuryControl, active_q


class ControlFilter(django_filters.FilterSet):
    key = django_filters.CharFilter()
    prefix = django_filters.CharFilter(field_name="key", lookup_expr="startswith")
    active = django_filters.BooleanFilter(method="filter_active")

    class Meta:
        model = TreasuryControl
        fields = ["key"]

    def filter_active(
        self, qs: QuerySet[TreasuryControl], name: str, value: bool | None
    ) -> QuerySet[TreasuryControl]:
        if value is None:
            return qs
        q = active_q(timezone.now())
        return qs.filter(q) if value else qs.exclude(q)
