"""GET /api/ops/plans, /api/ops/plans/<id>, /api/ops/suggestions. The POSTs
(generate-plan, execute-plan, suggestions/<id>/accept|decline) are the
registry's generated action views."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from molam_ops.errors import OpsError
from molam_ops.identity import request_principal
from plans.filters import PlanFilter, PlanPayoutFilter, SuggestionFilter
from plans.models import Plan, PlanPayout, Suggestion
from plans.selectors import plan_get, plan_list, plan_payout_list, suggestion_list
from plans.serializers import (
    PlanPayoutSerializer,
    PlanSerializer,
    SuggestionSerializer,
    approvals_of,
)


def _viewer(request: Request) -> str | None:
    principal = request_principal(request)
    return principal.id if principal else None


@extend_schema(tags=["plans"])
class PlanListApi(generics.ListAPIView):
    """Plans, newest first; filters status, plan_type, source (repeatable),
    created_by, created_from/created_to."""

    serializer_class = PlanSerializer
    filterset_class = PlanFilter

    def get_queryset(self) -> QuerySet[Plan]:
        return plan_list()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # noqa: S101 (pagination is always on)
        context = {
            **self.get_serializer_context(),
            "approvals": approvals_of(page, viewer_id=_viewer(request)),
        }
        data = PlanSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)


def _plan_or_404(plan_id: uuid.UUID) -> Plan:
    plan = plan_get(plan_id)
    if plan is None:
        raise OpsError("plan_not_found", _("No plan with this id."), status=404)
    return plan


class PlanDetailApi(APIView):
    @extend_schema(
        tags=["plans"],
        responses=inline_serializer(
            "PlanDetail", {"ok": serializers.BooleanField(), "plan": PlanSerializer()}
        ),
    )
    def get(self, request: Request, plan_id: uuid.UUID) -> Response:
        """One plan, with its approval request when it has one."""
        plan = _plan_or_404(plan_id)
        approvals = approvals_of([plan], viewer_id=_viewer(request))
        data = PlanSerializer(plan, context={"approvals": approvals}).data
        return Response({"ok": True, "plan": data})


@extend_schema(tags=["plans"])
class PlanPayoutListApi(generics.ListAPIView):
    """The payouts a plan moves (chosen when it was built; execution moves
    those still pending), in step order; filters step, bank_id (leaving or
    joining), currency."""

    serializer_class = PlanPayoutSerializer
    filterset_class = PlanPayoutFilter

    def get_queryset(self) -> QuerySet[PlanPayout]:
        if getattr(self, "swagger_fake_view", False):  # the schema's dry run
            return PlanPayout.objects.none()
        return plan_payout_list(_plan_or_404(self.kwargs["plan_id"]).id)


@extend_schema(tags=["plans"])
class SuggestionListApi(generics.ListAPIView):
    """Suggestions (open ones unless ``status`` says otherwise), most confident
    first. Reading never asks SIRA: beat refreshes them (and an operator may
    ask for it, ``POST refresh-suggestions``)."""

    serializer_class = SuggestionSerializer
    filterset_class = SuggestionFilter

    def get_queryset(self) -> QuerySet[Suggestion]:
        queryset = suggestion_list()
        if "status" not in self.request.query_params:
            queryset = queryset.filter(status="open")
        return queryset
