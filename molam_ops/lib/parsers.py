"""The API's one request parser: JSON, without NUL characters."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, refusing U+0000 anywhere in the body (keys included).

    No field accepts it (DRF's CharField refuses it), but raw payloads are
    stored as they came: the audit row of a refusal, an approval request's
    payload. PostgreSQL's jsonb cannot hold U+0000, so such a body would end
    in a 500 there; it is a 400 like any bad body."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        data = super().parse(*args, **kwargs)
        if _has_nul(data):
            raise ParseError(_("The body contains a NUL character (\\u0000)."))
        return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
