"""limit/offset pagination rendered as DESIGN §6 lists; limit ≤ 500."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from molam_ops.errors import OpsError
from molam_ops.lib.fields import ascii_only

MAX_LIMIT = 500


class OpsPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = MAX_LIMIT

    def _int_param(self, request: Request, name: str, default: int) -> int:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            # int() reads any Unicode digit; a count is written in ASCII
            value = int(raw) if ascii_only(raw) else -1
        except ValueError:
            value = -1
        upper = MAX_LIMIT if name == self.limit_query_param else None
        if (
            value < 0
            or (upper is not None and value > upper)
            or (name == self.limit_query_param and value == 0)
        ):
            bound = _("an integer from 1 to 500") if upper else _("an integer ≥ 0")
            raise OpsError(
                "validation_error",
                _("Some fields are invalid."),
                fields={name: [_("Expected %(what)s.") % {"what": bound}]},
            )
        return value

    def get_limit(self, request: Request) -> int:
        return self._int_param(request, self.limit_query_param, self.default_limit)

    def get_offset(self, request: Request) -> int:
        return self._int_param(request, self.offset_query_param, 0)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "ok": True,
                "count": self.count,
                "next": self.get_next_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["ok", "count", "next", "results"],
            "properties": {
                "ok": {"type": "boolean"},
                "count": {"type": "integer"},
                "next": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }
