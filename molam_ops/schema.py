"""OpenAPI extensions: the Molam ID bearer token, the DESIGN §6 errors, the
headers of §5 and §6, and the resources action responses carry.

The §6 error body and the statuses an operation can answer with it are declared
here once, for every endpoint under ``/api``, so a view documents only its own
success responses (and any refusal specific to it, e.g. 409 on actions). The
suite checks every answer it gets against the result (tests/schema_check.py).
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from molam_ops.error_codes import ERROR_CODES


class MolamJWTScheme(OpenApiAuthenticationExtension):
    target_class = "molam_ops.identity.MolamJWTAuthentication"
    name = "molamIdJWT"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT (RS256)",
            "description": "A Molam ID access token.",
        }


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.ChoiceField(ERROR_CODES)
    message = serializers.CharField(help_text="In the reader's language.")
    # DRF's metaclass takes declared fields out of the class body, so this
    # does not replace Serializer.fields, as the stubs assume
    fields = serializers.DictField(  # type: ignore[assignment]
        help_text="Field name → its errors (a list of messages, or nested for "
        "nested input); some refusals add facts (``approval_id``, "
        "``dependency``)."
    )


class ErrorSerializer(serializers.Serializer[Any]):
    """The DESIGN §6 error body: ``{"ok": false, "error": {...}}``."""

    ok = serializers.ChoiceField([False])
    error = ErrorDetailSerializer()


# What every ops action can refuse with (the runner's steps, README "How an
# action runs"), 500 being ``action_failed`` (an effect that raised; nothing
# committed); the generic rules below add the others.
ERROR_RESPONSES: dict[int, Any] = dict.fromkeys(
    (400, 401, 403, 404, 409, 422, 429, 500), ErrorSerializer
)

RETRY_AFTER: dict[str, Any] = {
    "description": "Seconds to wait before trying again.",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
IDEMPOTENT_REPLAYED: dict[str, Any] = {
    "description": "Present on a replay: the stored answer to the first request "
    "with this Idempotency-Key.",
    "schema": {"type": "string", "enum": ["true"]},
}
HEADERS_BY_STATUS = {
    "429": {"Retry-After": RETRY_AFTER},
    "503": {"Retry-After": RETRY_AFTER},
}

# The resources an action's response carries (``ActionSpec.resource``), by
# name: each app registers its serializer, so the kernel imports no app.
_RESOURCES: dict[str, type[serializers.Serializer[Any]]] = {}


def resource_schema(name: str, serializer: type[serializers.Serializer[Any]]) -> None:
    _RESOURCES[name] = serializer


def resource_field(name: str, **kwargs: Any) -> serializers.Field[Any, Any, Any, Any]:
    """The documented shape of resource ``name`` in an action's response (a
    free-form object for a resource no app has described)."""
    serializer = _RESOURCES.get(name)
    if serializer is None:
        return serializers.DictField(**kwargs)
    return serializer(**kwargs)


def nullable_refs(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS: drf-spectacular writes a nullable reference as
    ``{allOf: [$ref], nullable: true}``, which in OpenAPI 3.0 still refuses
    null (``nullable`` does not reach into the referenced schema) and so
    fails a validator meeting ``null``; ``anyOf`` with a null schema says it
    in a way validators and code generators read alike (``X | null``)."""
    _rewrite_nullable(result.get("components", {}))
    _rewrite_nullable(result.get("paths", {}))
    return result


def _rewrite_nullable(node: Any) -> None:
    if isinstance(node, dict):
        refs = node.get("allOf")
        if node.get("nullable") is True and isinstance(refs, list) and len(refs) == 1:
            del node["allOf"], node["nullable"]
            node["anyOf"] = [
                refs[0],
                {"type": "object", "nullable": True, "enum": [None]},
            ]
        for value in node.values():
            _rewrite_nullable(value)
    elif isinstance(node, list):
        for value in node:
            _rewrite_nullable(value)


_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_]+")


class OpsAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the §6 errors each /api operation can
    answer, derived from what it accepts: any request can be refused before a
    view reads it (400 ``invalid_character``, 403 ``address_not_allowed``,
    406 for an ``Accept`` it cannot satisfy, 429, 431, 503 while the
    database is down), any input can be invalid (400), a
    body can be too large (413) or not JSON (415), a path parameter can name
    nothing (404), and an authenticated endpoint refuses a missing token
    (401). 429 and 503 carry ``Retry-After``."""

    def get_operation_id(self) -> str:
        # a valid identifier for code generators (checkpoint.note has a dot)
        return _NOT_IN_ID.sub("_", super().get_operation_id())

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None or not self.path.startswith("/api/"):
            return operation
        locations = {p.get("in") for p in operation.get("parameters", [])}
        codes: set[int] = {400, 403, 406, 429, 431, 503}
        if "requestBody" in operation:
            codes |= {413, 415}
        if "path" in locations:
            codes.add(404)
        if self._needs_principal():
            codes.add(401)
        responses = operation.setdefault("responses", {})
        for code in sorted(codes):
            if str(code) not in responses:
                # untyped in drf-spectacular, reached through our subclass
                responses[str(code)] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    ErrorSerializer, str(code)
                )
        replayable = any(
            p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])
        )
        for code, response in responses.items():
            headers: dict[str, Any] = dict(HEADERS_BY_STATUS.get(code, {}))
            if replayable:
                headers["Idempotent-Replayed"] = IDEMPOTENT_REPLAYED
            if headers:
                response.setdefault("headers", {}).update(headers)
        return operation

    def _needs_principal(self) -> bool:
        return not all(isinstance(p, AllowAny) for p in self.view.get_permissions())
