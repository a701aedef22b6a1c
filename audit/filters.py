import django_filters

from audit.choices import ActionStatus
from audit.models import OpsActionLog
from molam_ops.lib.filters import UtcIsoDateTimeFilter


class ActionLogFilter(django_filters.FilterSet):
    actor_id = django_filters.CharFilter()
    action_type = django_filters.CharFilter()
    action_id = django_filters.UUIDFilter()
    status = django_filters.ChoiceFilter(choices=ActionStatus.choices)

    class Meta:
        model = OpsActionLog
        fields = ["actor_id", "action_type", "action_id", "status"]


# "from" is a Python keyword, so these two are added by name.
ActionLogFilter.base_filters["from"] = UtcIsoDateTimeFilter(
    field_name="created_at", lookup_expr="gte", label="from (ISO 8601, inclusive)"
)
ActionLogFilter.base_filters["to"] = UtcIsoDateTimeFilter(
    field_name="created_at", lookup_expr="lt", label="to (ISO 8601, exclusive)"
)
