from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics

from controls.api.serializers import BankSerializer
from controls.filters import ControlFilter
from controls.models import TreasuryControl
from controls.selectors import bank_list_with_controls, control_list
from controls.serializers import ControlSerializer


@extend_schema(tags=["controls"])
class ControlListApi(generics.ListAPIView):
    """The treasury controls in force; ``?active=all`` lists every control,
    active or not (the history), ``?active=false`` the inactive ones.
    ``active`` is computed at read time: a control past ``expires_at`` is
    inactive at once (DESIGN §9)."""

    serializer_class = ControlSerializer
    filterset_class = ControlFilter

    def get_queryset(self) -> QuerySet[TreasuryControl]:
        return control_list()


@extend_schema(tags=["controls"])
class BankListApi(generics.ListAPIView):
    """Bank connectors with health, circuit state, and pause/freeze state."""

    serializer_class = BankSerializer
    filter_backends: list[Any] = []

    # DRF lists any sequence; the stubs want a QuerySet
    def get_queryset(self) -> list[Any]:  # type: ignore[override]
        return bank_list_with_controls()
