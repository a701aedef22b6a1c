"""Writes of the widgets app: an operator's own widget state.

Saving one's widget state or UI language is deliberately *not* an ops action:
it moves no money, changes nothing another operator sees, and is keyed to the
caller alone, so it does not go through the runner and leaves no audit row
(DESIGN §2 covers state changes of the payments plane). It is still validated
(a JSON object of at most 64 KiB) and refused with DESIGN §6 errors.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from molam_ops.errors import OpsError
from widgets.choices import WidgetType
from widgets.models import WidgetState

MAX_STATE_BYTES = 64 * 1024


def _validate(widget_type: str, state: Any) -> None:
    if not isinstance(state, dict):
        raise OpsError(
            "validation_error",
            _("Some fields are invalid."),
            fields={"non_field_errors": [_("The state must be a JSON object.")]},
        )
    size = len(json.dumps(state, separators=(",", ":")).encode())
    if size > MAX_STATE_BYTES:
        raise OpsError(
            "state_too_large",
            _("A widget state is limited to 64 KiB."),
            status=413,
        )
    if widget_type == WidgetType.PREFERENCES and "lang" in state:
        codes = {code for code, _label in settings.LANGUAGES}
        if state["lang"] not in codes:
            raise OpsError(
                "validation_error",
                _("Some fields are invalid."),
                fields={"lang": [_("Unsupported language.")]},
            )


def widget_state_put(*, user: str, widget_type: str, state: Any) -> WidgetState:
    """Replace ``user``'s state of ``widget_type`` (one row per pair; the
    unique constraint makes two concurrent first saves one row)."""
    _validate(widget_type, state)
    row, _created = WidgetState.objects.update_or_create(
        user=user, widget_type=widget_type, defaults={"state": state}
    )
    return row
