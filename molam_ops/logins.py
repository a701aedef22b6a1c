"""Password sign-in under attack: django-axes' lockout, audited.

django-axes (settings: ``AXES_*``) counts failed sign-ins per username and
client address (the address :func:`molam_ops.hardening.request_client_ip`
computes, so ``TRUSTED_PROXIES`` decides it here as everywhere) and, past
``AXES_FAILURE_LIMIT``, refuses that pair until the cool-off ends, the right
password included. Its ``AxesMiddleware`` then asks :func:`lockout_response`
(``AXES_LOCKOUT_CALLABLE``) for the answer: a 429 page, and a ``rejected``
audit row through the same refusal path as the API's (no signal receiver).
Every sign-in form goes through it: the admin's and the browsable API's.

An operator locked out by someone guessing from their own address is
unlocked with ``manage.py axes_reset_username <username>`` (docs/runbook.md).
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy, ngettext_lazy

from molam_ops.errors import OpsError
from molam_ops.hardening import (
    first_in_window,
    html_error,
    record_refusal,
    request_client_ip,
)
from molam_ops.identity import Principal

log = logging.getLogger(__name__)

# The action_type of a refused sign-in's audit row.
ADMIN_LOGIN = "admin_login"


def lockout_error(request: HttpRequest) -> OpsError:
    """429 ``login_locked_out``, with ``Retry-After`` when the lock ends by
    itself (each attempt while locked restarts the cool-off)."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return OpsError(
            "login_locked_out",
            gettext_lazy(
                "Too many failed sign-ins for this account from your address. "
                "Ask an administrator to unlock it."
            ),
            status=429,
        )
    seconds = int(cool_off.total_seconds())
    minutes = max(1, math.ceil(seconds / 60))
    message = ngettext_lazy(
        "Too many failed sign-ins for this account from your address. "
        "Try again in %(minutes)s minute, or ask an administrator to unlock it.",
        "Too many failed sign-ins for this account from your address. "
        "Try again in %(minutes)s minutes, or ask an administrator to unlock it.",
        "minutes",
    )
    return OpsError(
        "login_locked_out",
        message % {"minutes": minutes},
        status=429,
        headers={"Retry-After": str(seconds)},
    )


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the answer to a sign-in refused for the lock
    (the one that reached the limit, and every one after it).

    One audit row per username and address per window, as for every refusal
    made before the runner: a script hammering a locked account must not be
    able to fill the append-only table.
    """
    username = str(get_client_username(request, credentials) or "")
    ip = request_client_ip(request)
    error = lockout_error(request)
    pair = hashlib.sha256(f"{username}\0{ip}".encode()).hexdigest()[:32]
    if first_in_window("login", pair):
        record_refusal(
            request,
            error,
            # the name that was tried, whoever tried it: what an operator
            # looks for (GET /api/ops/actions?actor_id=…) after a lockout
            principal=Principal(
                id=username[:255] or "anonymous", roles=frozenset(), kind="anonymous"
            ),
            details={
                "username": username[:255],
                "failures": getattr(request, "axes_failures_since_start", None),
                "limit": settings.AXES_FAILURE_LIMIT,
            },
            action_type=ADMIN_LOGIN,
        )
    log.warning("sign-in of %r from %s refused: locked out", username[:64], ip)
    return html_error(request, error, title=gettext_lazy("Sign-in temporarily locked"))
