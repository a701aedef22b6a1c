from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from controls.choices import ActiveFilter
from controls.models import TreasuryControl, active_q


class ControlFilter(django_filters.FilterSet):
    key = django_filters.CharFilter()
    prefix = django_filters.CharFilter(field_name="key", lookup_expr="startswith")
    active = django_filters.ChoiceFilter(
        choices=ActiveFilter.choices,
        method="filter_active",
        help_text="Which controls: the active ones unless asked otherwise.",
    )

    class Meta:
        model = TreasuryControl
        fields = ["key"]

    def __init__(self, data: QueryDict | None = None, *args: Any, **kw: Any) -> None:
        # The list shows what is in force unless the reader asks for the
        # history (DESIGN §9: what an operator checks during an incident).
        # "True"/"False" were read as booleans before: still taken.
        data = data.copy() if data is not None else QueryDict(mutable=True)
        data["active"] = (data.get("active") or ActiveFilter.ACTIVE).lower()
        super().__init__(data, *args, **kw)

    def filter_active(
        self, qs: QuerySet[TreasuryControl], name: str, value: str
    ) -> QuerySet[TreasuryControl]:
        if value == ActiveFilter.ALL:
            return qs
        q = active_q(timezone.now())
        return qs.filter(q) if value == ActiveFilter.ACTIVE else qs.exclude(q)
