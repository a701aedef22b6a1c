from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics

from payouts.api.serializers import PayoutSerializer
from payouts.filters import PayoutFilter
from payouts.models import Payout
from payouts.selectors import payout_list


@extend_schema(tags=["payouts"])
class PayoutListApi(generics.ListAPIView):
    """Payouts, newest first; filter by status (repeatable), bank, currency."""

    serializer_class = PayoutSerializer
    filterset_class = PayoutFilter

    def get_queryset(self) -> QuerySet[Payout]:
        return payout_list()
