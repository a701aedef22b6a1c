"""Shared list filters (DESIGN §6: times are UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, converted to UTC before it reaches the query.

    Python accepts offsets up to ±23:59 but PostgreSQL only ±15:59, so
    ``?from=…+21:30`` would be a 500 there; a time that
    leaves the calendar once converted (year 1 at +05:00) is a 400 too."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise forms.ValidationError(
                self.error_messages["invalid"], code="invalid"
            ) from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
