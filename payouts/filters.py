import django_filters

from molam_ops.lib.filters import UtcIsoDateTimeFilter
from payouts.choices import PayoutStatus
from payouts.models import Payout


class PayoutFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PayoutStatus.choices)
    bank_profile_id = django_filters.UUIDFilter(field_name="bank_profile_id")
    currency = django_filters.CharFilter()
    disputed = django_filters.BooleanFilter()

    class Meta:
        model = Payout
        fields = ["status", "bank_profile_id", "currency", "disputed"]


PayoutFilter.base_filters["from"] = UtcIsoDateTimeFilter(
    field_name="created_at", lookup_expr="gte"
)
PayoutFilter.base_filters["to"] = UtcIsoDateTimeFilter(
    field_name="created_at", lookup_expr="lt"
)
