"""Small shared pieces of the API contract (DESIGN §6): UTC ISO 8601 times with
a ``Z``, UUIDs that must arrive as strings, numbers in ASCII digits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework import serializers


def iso_utc(value: datetime | None) -> str | None:
    """``2026-11-28T04:01:27.223362Z``, as DRF renders aware UTC datetimes."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


class UUIDStringField(serializers.UUIDField):
    """A UUID given as a JSON string. DRF's UUIDField also takes integers
    (``123`` → ``00000000-…-00000000007b``), turning a wrong type into a 404."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


def ascii_only(data: Any) -> bool:
    """False for text with a character outside ASCII. Python's ``int`` and
    ``Decimal``, and DRF's number fields with them, read any Unicode digit:
    Arabic-Indic or fullwidth "100" is 100, an amount nobody typed as such."""
    return not isinstance(data, str) or data.isascii()


class _AsciiDigits(serializers.Field):  # type: ignore[type-arg]
    """A number field refusing text with a character outside ASCII."""

    def to_internal_value(self, data: Any) -> Any:
        if not ascii_only(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class AsciiDecimalField(_AsciiDigits, serializers.DecimalField):
    """DRF's DecimalField taking ASCII digits only (:func:`ascii_only`)."""


class AsciiIntegerField(_AsciiDigits, serializers.IntegerField):
    """DRF's IntegerField taking ASCII digits only (:func:`ascii_only`)."""
