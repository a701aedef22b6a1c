"""The widgets' API: the KPI summary, the caller's identity, widget states."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from molam_ops.actions.registry import all_actions
from molam_ops.api_root import path_template
from molam_ops.errors import OpsError
from molam_ops.identity import Principal, required_principal
from molam_ops.lib.fields import iso_utc
from widgets import selectors, services
from widgets.api.serializers import MetricsSummarySerializer
from widgets.choices import WidgetType
from widgets.models import WidgetState


@extend_schema(tags=["widgets"], responses=MetricsSummarySerializer)
class MetricsSummaryApi(APIView):
    """Every KPI of the widgets: treasury, payouts, banks, freezes, approvals,
    suggestions, and ``computed_at`` (cached at most ``KPI_CACHE_SECONDS``)."""

    def get(self, request: Request) -> Response:
        return Response({"ok": True, "summary": selectors.kpi_summary_cached()})


def _allowed_actions(principal: Principal) -> dict[str, str]:
    """Action name → URL (``{param}`` placeholders) for the caller's roles."""
    return {
        spec.name: path_template("api/ops/" + spec.url)
        for spec in all_actions()
        if spec.http and principal.acting_role(spec.roles)
    }


@extend_schema(
    tags=["widgets"],
    responses=inline_serializer(
        "Me",
        {
            "ok": serializers.BooleanField(),
            "id": serializers.CharField(),
            "roles": serializers.ListField(child=serializers.CharField()),
            "lang": serializers.CharField(),
            "actions": serializers.DictField(child=serializers.CharField()),
            "available_actions": serializers.ListField(child=serializers.CharField()),
            "approval_rules": inline_serializer(
                "ApprovalRules",
                {
                    "freeze_global": serializers.IntegerField(
                        help_text="Signatures a global freeze needs, besides "
                        "the person who asks for it."
                    )
                },
            ),
        },
    ),
)
class MeApi(APIView):
    """Who is calling: id, known roles, the UI language chosen for them, the
    ops actions their roles allow (what the widgets enable), and the approval
    rules the widgets tell them about. Like every GET under /api/ops/, only
    for holders of a known role."""

    def get(self, request: Request) -> Response:
        principal = required_principal(request)
        return Response(
            {
                "ok": True,
                "id": principal.id,
                "roles": sorted(principal.roles),
                "lang": translation.get_language(),
                "actions": _allowed_actions(principal),
                # every action this server has, allowed or not: a widget tells
                # "not for your roles" from "not on this server yet"
                "available_actions": [s.name for s in all_actions() if s.http],
                "approval_rules": {
                    "freeze_global": settings.APPROVAL_GLOBAL_FREEZE_SIGNATURES
                },
            }
        )


def _state_body(widget_type: str, row: WidgetState | None) -> dict[str, Any]:
    return {
        "ok": True,
        "widget_state": {
            "widget_type": widget_type,
            "state": row.state if row else {},
            "updated_at": iso_utc(row.updated_at) if row else None,
        },
    }


_STATE_RESPONSE = inline_serializer(
    "WidgetStateResponse",
    {
        "ok": serializers.BooleanField(),
        "widget_state": inline_serializer(
            "WidgetState",
            {
                "widget_type": serializers.ChoiceField(WidgetType.choices),
                "state": serializers.DictField(),
                "updated_at": serializers.DateTimeField(allow_null=True),
            },
        ),
    },
)


@extend_schema_view(
    get=extend_schema(tags=["widgets"], responses=_STATE_RESPONSE),
    put=extend_schema(
        tags=["widgets"], request=OpenApiTypes.OBJECT, responses=_STATE_RESPONSE
    ),
)
class WidgetStateApi(APIView):
    """The caller's saved state of one widget type; PUT replaces it with the
    body (a JSON object, at most 64 KiB). Not an ops action: see
    ``widgets.services``."""

    def _type(self, widget_type: str) -> str:
        if widget_type not in WidgetType.values:
            raise OpsError("not_found", _("No such widget type."), status=404)
        return widget_type

    def get(self, request: Request, widget_type: str) -> Response:
        principal = required_principal(request)
        row = selectors.widget_state_get(
            user=principal.id, widget_type=self._type(widget_type)
        )
        return Response(_state_body(widget_type, row))

    def put(self, request: Request, widget_type: str) -> Response:
        principal = required_principal(request)
        widget_type = self._type(widget_type)
        try:
            size = len(request.body)
        except RequestDataTooBig:
            size = services.MAX_STATE_BYTES + 1
        if size > services.MAX_STATE_BYTES:
            raise OpsError(
                "state_too_large", _("A widget state is limited to 64 KiB."), status=413
            )
        row = services.widget_state_put(
            user=principal.id, widget_type=widget_type, state=request.data
        )
        if widget_type == WidgetType.PREFERENCES and principal.kind == "session":
            # the language middleware reads a session user's choice from here
            request.session["molam_lang"] = row.state.get("lang")
        return Response(_state_body(widget_type, row))
