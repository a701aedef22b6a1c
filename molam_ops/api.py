"""HTTP face of the registry: one thin POST view per ops action, generated from
its ``ActionSpec`` so the URL, the RBAC, the input shape and the OpenAPI docs
cannot drift apart (DESIGN §2)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from molam_ops.actions import runner
from molam_ops.actions.context import RequestMeta
from molam_ops.actions.registry import ActionSpec, all_actions
from molam_ops.hardening import request_client_ip
from molam_ops.identity import required_principal
from molam_ops.permissions import IsAuthenticatedPrincipal
from molam_ops.schema import ERROR_RESPONSES, resource_field


class AuditRowSerializer(serializers.Serializer[Any]):
    """The ``log`` of a response: one ``ops_actions_log`` row."""

    id = serializers.UUIDField()
    seq = serializers.IntegerField()
    action_id = serializers.UUIDField()
    actor_id = serializers.CharField()
    actor_role = serializers.CharField()
    action_type = serializers.CharField()
    target = serializers.DictField()
    idempotency_key = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(
        ["requested", "accepted", "rejected", "executed", "failed"]
    )
    details = serializers.DictField()
    ip = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    request_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    required=True,
    description="Unique per intent, at most 255 characters: the same key and "
    "body answer the first response again.",
)


def request_meta(request: HttpRequest) -> RequestMeta:
    return RequestMeta(
        # never REMOTE_ADDR as such: behind a trusted proxy that sent garbage
        # it holds the garbage (an inet column refuses it; None is "unknown")
        ip=request_client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:512],
        request_id=getattr(request, "request_id", ""),
    )


def _response_serializer(spec: ActionSpec, *, accepted: bool = False) -> Any:
    """200: the resource the action returns. 202: the action waits, either for
    signatures (only ``approval``, no resource yet) or for a worker (the
    resource in its first state, e.g. a plan ``generating``)."""
    fields: dict[str, Any] = {
        "ok": serializers.BooleanField(),
        "log": AuditRowSerializer(),
    }
    if spec.resource:
        fields[spec.resource] = resource_field(spec.resource, required=not accepted)
    if spec.resource != "approval":
        fields["approval"] = resource_field("approval", required=False)
    name = spec.input.__name__.removesuffix("Input")
    return inline_serializer(f"{name}{'Accepted' if accepted else ''}Response", fields)


def action_view(spec: ActionSpec) -> type[APIView]:
    class ActionView(APIView):
        permission_classes = [IsAuthenticatedPrincipal]

        def post(self, request: Request, **path_params: Any) -> Response:
            principal = required_principal(request)
            try:
                payload = request.data
            except ParseError:
                payload = runner.MALFORMED
            except UnsupportedMediaType:
                payload = runner.UNSUPPORTED_MEDIA
            if path_params and isinstance(payload, dict):
                # path parameters are part of the action's input (and its hash)
                payload = {**payload, **{k: str(v) for k, v in path_params.items()}}
            result = runner.run(
                spec.name,
                principal,
                payload,
                idempotency_key=request.headers.get("Idempotency-Key"),
                require_key=True,
                meta=request_meta(request),
            )
            headers = {"Idempotent-Replayed": "true"} if result.replayed else None
            return Response(result.body, status=result.status, headers=headers)

    response = _response_serializer(spec)
    accepted = _response_serializer(spec, accepted=True)
    # documented by wrapping the method, as @extend_schema would, per class
    ActionView.post = extend_schema(  # type: ignore[method-assign]
        operation_id=spec.name,
        summary=spec.summary,
        tags=["ops actions"],
        request=spec.input,
        parameters=[IDEMPOTENCY_HEADER],
        description=f"Roles: {', '.join(sorted(spec.roles))}.",
        responses={200: response, 202: accepted, **ERROR_RESPONSES},
    )(ActionView.post)
    ActionView.__name__ = ActionView.__qualname__ = (
        "".join(p.title() for p in spec.name.split("_")) + "Api"
    )
    return ActionView


def action_urls() -> list[URLPattern]:
    return [
        path(spec.url, action_view(spec).as_view(), name=spec.name)
        for spec in all_actions()
        if spec.http
    ]
