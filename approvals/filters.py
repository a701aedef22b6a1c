import django_filters

from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRequest


class ApprovalFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ApprovalStatus.choices)
    action_type = django_filters.CharFilter()
    initiator_id = django_filters.CharFilter()

    class Meta:
        model = ApprovalRequest
        fields = ["status", "action_type", "initiator_id"]
