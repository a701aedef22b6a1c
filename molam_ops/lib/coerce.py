"""Lenient readings of stored or answered values (a plan's steps, a control's
key): None where a value is not what it should be, for the caller to skip;
requests are validated by their serializers instead."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any


def uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def decimal_or_none(value: Any) -> Decimal | None:
    """A Decimal from a number or its text; None for anything else (a bool
    included, which Python counts as a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
