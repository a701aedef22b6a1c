"""limit/offset pagination rendered as DESIGN §6 lists; limit ≤ 500. Lists
that grow for ever (the audit log) page by keyset instead."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

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


class CursorError(ValueError):
    """A cursor this list did not give out."""


def encode_cursor(at: datetime, key: int) -> str:
    text = f"{at.astimezone(UTC).isoformat()}|{key}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(raw: str) -> tuple[datetime, int]:
    """The (time, key) that ``encode_cursor`` wrote; CursorError otherwise."""
    if not raw.isascii() or len(raw) > 120:
        raise CursorError(raw)
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        when, key = text.split("|")
        at = datetime.fromisoformat(when)
        if at.tzinfo is None:
            raise ValueError(when)
        # in UTC here: year 1 or 9999 with an offset cannot be
        at = at.astimezone(UTC)
        number = int(key) if key.isascii() and key.isdigit() else -1
    except (ValueError, OverflowError) as exc:  # base64, bytes, split, date
        raise CursorError(raw) from exc
    if not 0 < number < 2**63:
        raise CursorError(raw)
    return at, number


class KeysetPagination(OpsPagination):
    """DESIGN §3, §6: newest first by ``(created_at, seq)`` descending, paged by
    keyset: ``next`` carries an opaque ``cursor`` naming the page's last row,
    so each page is one index range whatever its depth, and rows appended
    while a caller walks the list neither repeat nor shift what follows.
    ``offset`` still works up to ``max_offset``. ``count`` counts the matching
    rows up to ``count_cap`` (a LIMITed subquery, never the whole table);
    ``count_capped`` says when there are more."""

    cursor_query_param = "cursor"
    time_field = "created_at"
    key_field = "seq"
    max_offset = 10_000
    # the count reads at most this many matching index entries per page
    # (more when filters combine and one index serves them: then rows are
    # read and filtered until this many match)
    count_cap = 1_000

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        after = self._cursor(request)
        t, k = self.time_field, self.key_field
        qs = queryset.order_by(f"-{t}", f"-{k}")
        # the filters' rows, not the cursor's: every page reports the same.
        # The newest count_cap + 1 of them, in the page's index order (an
        # index-only range, on each partition alike), never the whole table
        found = qs.values(k)[: self.count_cap + 1].count()
        self.count = min(found, self.count_cap)
        self.count_capped = found > self.count_cap
        if after is not None:
            # (t, k) < after, written so that t <= at is an index condition
            at, key = after
            qs = qs.filter(
                Q(**{f"{t}__lte": at}), Q(**{f"{t}__lt": at}) | Q(**{f"{k}__lt": key})
            )
        rows = list(qs[self.offset : self.offset + self.limit + 1])
        self.last = rows[self.limit - 1] if len(rows) > self.limit else None
        return rows[: self.limit]

    def get_offset(self, request: Request) -> int:
        offset = super().get_offset(request)
        if offset > self.max_offset:
            raise OpsError(
                "validation_error",
                _("Some fields are invalid."),
                fields={
                    self.offset_query_param: [
                        _(
                            "Offsets above %(most)d are not served: follow the "
                            "next link instead."
                        )
                        % {"most": self.max_offset}
                    ]
                },
            )
        return offset

    def _cursor(self, request: Request) -> tuple[datetime, int] | None:
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None or raw == "":
            return None
        try:
            return decode_cursor(raw)
        except CursorError:
            raise OpsError(
                "validation_error",
                _("Some fields are invalid."),
                fields={
                    self.cursor_query_param: [
                        _("Not a cursor of this list: follow next as given.")
                    ]
                },
            ) from None

    def get_next_link(self) -> str | None:
        if self.last is None or self.request is None:
            return None
        url = remove_query_param(
            self.request.build_absolute_uri(), self.offset_query_param
        )
        cursor = encode_cursor(
            getattr(self.last, self.time_field), getattr(self.last, self.key_field)
        )
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "ok": True,
                "count": self.count,
                "count_capped": self.count_capped,
                "next": self.get_next_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        out = super().get_paginated_response_schema(schema)
        out["required"] = [*out["required"], "count_capped"]
        out["properties"] = {
            **out["properties"],
            "count": {
                "type": "integer",
                "description": f"matching rows, counted up to {self.count_cap}",
            },
            "count_capped": {
                "type": "boolean",
                "description": f"more than {self.count_cap} rows match",
            },
        }
        return out

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        for p in params:
            if p["name"] == self.offset_query_param:
                p["schema"] = {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": self.max_offset,
                }
        return [
            *params,
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "opaque: as the next link of the previous page gives it",
                "schema": {"type": "string"},
            },
        ]
