"""Query-string values every list or report endpoint reads the same way."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request

from molam_ops.errors import OpsError

_TRUE = {"1", "true", "yes"}
_FALSE = {"", "0", "false", "no"}


def query_flag(request: Request, name: str) -> bool:
    """``?name=1`` (or true/yes); absent, empty, 0, false or no is off;
    anything else is a 400, not a silent default."""
    raw = request.query_params.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise OpsError(
        "validation_error",
        _("Some fields are invalid."),
        fields={name: [_("Expected 1 or 0 (true or false).")]},
    )
