"""``GET /api/ops/flags`` and ``GET /api/ops/flags/<name>?subject=<id>``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controls.flags import evaluate, flag_state
from controls.models import TreasuryControl
from controls.selectors import flag_get, flag_list
from controls.serializers import FlagSerializer
from molam_ops.errors import OpsError

MAX_SUBJECT_LENGTH = 255


@extend_schema(tags=["controls"])
class FlagListApi(generics.ListAPIView):
    """Feature flags (``feature:<name>`` controls) with their rollout."""

    serializer_class = FlagSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[TreasuryControl]:
        return flag_list()


class FlagEvaluateApi(APIView):
    @extend_schema(
        tags=["controls"],
        parameters=[OpenApiParameter("subject", str, required=True)],
        responses=inline_serializer(
            "FlagEvaluation",
            {
                "ok": serializers.BooleanField(),
                "flag": serializers.CharField(),
                "subject": serializers.CharField(),
                "enabled": serializers.BooleanField(),
                "reason": serializers.ChoiceField(
                    ["deny", "allow", "disabled", "rollout", "expired"]
                ),
            },
        ),
    )
    def get(self, request: Request, name: str) -> Response:
        """Is the flag on for this subject? Deterministic (controls/flags.py)."""
        control = flag_get(name)
        if control is None:
            raise OpsError(
                "flag_not_found", _("No feature flag with this name."), status=404
            )
        subject = request.query_params.get("subject", "")
        if not subject or len(subject) > MAX_SUBJECT_LENGTH:
            raise OpsError(
                "validation_error",
                _("Some fields are invalid."),
                fields={"subject": [_("Give a subject id of 1 to 255 characters.")]},
            )
        decision = evaluate(flag_state(control), subject, now=timezone.now())
        return Response(
            {
                "ok": True,
                "flag": name,
                "subject": subject,
                "enabled": decision.enabled,
                "reason": decision.reason,
            }
        )
