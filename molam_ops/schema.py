"""OpenAPI extensions: the Molam ID bearer token and the DESIGN §6 errors.

The §6 error body and the statuses an operation can answer with it are declared
here once, for every endpoint under ``/api``, so a view documents only its own
success responses (and any refusal specific to it, e.g. 409 on actions).
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class MolamJWTScheme(OpenApiAuthenticationExtension):
    target_class = "molam_ops.identity.MolamJWTAuthentication"
    name = "molamIdJWT"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT (RS256)",
            "description": "A Molam ID access token (DESIGN §4).",
        }


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()
    # DRF's metaclass takes declared fields out of the class body, so this
    # does not replace Serializer.fields, as the stubs assume
    fields = serializers.DictField()  # type: ignore[assignment]


class ErrorSerializer(serializers.Serializer[Any]):
    """The DESIGN §6 error body: ``{"ok": false, "error": {...}}``."""

    ok = serializers.BooleanField(default=False)
    error = ErrorDetailSerializer()


# What every ops action can refuse with (the runner's steps, README "How an
# action runs"); the generic rules below add the same body to the other views.
ERROR_RESPONSES: dict[int, Any] = dict.fromkeys(
    (400, 401, 403, 404, 409, 422, 429), ErrorSerializer
)


class OpsAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the §6 errors each /api operation can
    answer, derived from what it accepts: any input can be invalid (400), a path
    parameter can name nothing (404), and an authenticated endpoint refuses a
    missing token (401), a role (403) and a caller over the rate limit (429)."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None or not self.path.startswith("/api/"):
            return operation
        locations = {p.get("in") for p in operation.get("parameters", [])}
        codes: set[int] = set()
        if "query" in locations or "requestBody" in operation:
            codes.add(400)
        if "path" in locations:
            codes.add(404)
        if self._needs_principal():
            codes |= {401, 403, 429}
        responses = operation.setdefault("responses", {})
        for code in sorted(codes):
            if str(code) not in responses:
                # untyped in drf-spectacular, reached through our subclass
                responses[str(code)] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    ErrorSerializer, str(code)
                )
        return operation

    def _needs_principal(self) -> bool:
        return not all(isinstance(p, AllowAny) for p in self.view.get_permissions())
