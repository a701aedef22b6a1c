"""The API's one request parser: JSON no deeper than ``JSON_MAX_DEPTH``, with
no character the database cannot store."""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Iterator, Mapping
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# A JSON string; an unterminated one runs to the end of the text, so the scan
# never starts again inside it: linear whatever the input.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_NOT_BRACKET = re.compile(r"[^\[\]{}]")
# What PostgreSQL cannot store in text or jsonb: U+0000, and UTF-16
# surrogates, which JSON escapes (``"\ud800"``) can produce alone (a pair is
# decoded into the one character it stands for).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def json_depth(text: str) -> int:
    """How deep the arrays and objects of ``text`` nest, found without
    parsing: brackets outside strings, counted in C (no recursion, no Python
    loop per character). Malformed text may count deeper than a parser would
    go, never less: the parser stops at the first error, where the count of
    a well-formed prefix is exact."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def has_unstorable(value: Any) -> bool:
    """Whether a parsed JSON value holds U+0000 or a lone surrogate in any
    string, keys included (walked with a stack, not recursion)."""
    return any(UNSTORABLE.search(text) for text in _strings(value))


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads(text: str) -> Any:
    """``json.loads`` for untrusted text: ``ValueError`` for what is not JSON,
    for ``NaN``/``Infinity`` (spelt so or as an overflowing number like
    ``1e99999``) and for nesting past ``JSON_MAX_DEPTH`` (Python's
    decoder recurses once per level: 100,000 ``[`` would overflow it)."""
    limit: int = settings.JSON_MAX_DEPTH
    if json_depth(text) > limit:
        raise ValueError(f"nested deeper than {limit} levels")
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    # 1e99999 overflows to infinity, which JSON (and PostgreSQL's jsonb, where
    # the raw payload is stored) cannot hold: the literal Infinity is refused
    # above, its spelling as a number here
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:32]} is out of range")
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, refusing bodies nested past ``JSON_MAX_DEPTH`` before
    decoding them, and U+0000 or a lone surrogate anywhere (keys included).

    No field accepts those characters (DRF's CharField refuses U+0000), but
    raw payloads are stored as they came: the audit row of a refusal, an
    approval request's payload. PostgreSQL's jsonb cannot hold them, so such
    a body would end in a 500 there; it is a 400 like any bad body."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # DRF's own charset check (415 for a non-text one)
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = loads(text)
        except ValueError as exc:  # UnicodeDecodeError included
            # DRF's own wording
            raise ParseError(f"JSON parse error - {exc}") from exc
        if has_unstorable(data):
            raise ParseError(
                _(
                    "The body contains a character that cannot be stored "
                    "(U+0000 or a lone surrogate)."
                )
            )
        return data
