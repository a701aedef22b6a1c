"""The rate limit's penalty box: once DRF's throttle has refused a verified
credential (:mod:`molam_ops.throttling`), the ASGI wrapper
(:class:`molam_ops.hardening.BodyLimitASGI`) refuses that credential's next
requests until its window ends, without entering Django, so a flood costs
other users as little as it can.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings
from prometheus_client import Counter
from rest_framework import exceptions

from molam_ops.errors import OpsError, from_drf

# Refusals answered by the ASGI penalty box (layer="asgi") or by DRF's
# throttle (layer="django"): the box's share shows how much of a flood it took.
RATE_LIMITED = Counter(
    "molam_ops_rate_limited_total",
    "API requests refused 429 rate_limited, by the layer that refused them.",
    ["layer"],
)


def rate_limited(reset_at: float) -> OpsError:
    """The 429 of a caller over the limit, ``Retry-After`` to the window end."""
    # DRF's own Throttled through the one renderer: the same body and header
    # whichever layer refuses
    wait = max(1, int(reset_at - time.time() + 0.999))
    return from_drf(exceptions.Throttled(wait))


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def scope_credential(scope: dict[str, Any]) -> str | None:
    """The credential DRF would authenticate this request with: the
    Authorization header when there is one (JWT authentication runs first and
    refuses a bad one), else the session cookie."""
    cookie_header = b""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return _digest("authorization", value.decode("latin-1"))
        if name == b"cookie":
            cookie_header = value
    if not cookie_header:
        return None
    wanted = settings.SESSION_COOKIE_NAME + "="
    for part in cookie_header.decode("latin-1").split(";"):
        part = part.strip()
        if part.startswith(wanted):
            return _digest("session", part[len(wanted) :])
    return None


def request_credential(request: Any) -> str | None:
    """The credential DRF verified on ``request`` (the same digest as
    :func:`scope_credential`), or None for an unauthenticated caller."""
    from rest_framework.authentication import SessionAuthentication

    authenticator = getattr(request, "successful_authenticator", None)
    if authenticator is None:
        return None
    if isinstance(authenticator, SessionAuthentication):
        value = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        return _digest("session", value) if value else None
    header = request.META.get("HTTP_AUTHORIZATION")
    return _digest("authorization", header) if header else None


class PenaltyBox:
    """Per process: credentials DRF verified and refused for the rate limit,
    until their window ends. Bounded (oldest out first) so a flood of many
    valid tokens cannot grow it without end; a credential pushed out is only
    refused by DRF again, more slowly."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._until: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()  # the throttle runs on a worker thread

    def add(self, credential: str, until: float) -> None:
        with self._lock:
            self._until[credential] = until
            self._until.move_to_end(credential)
            while len(self._until) > self.size:
                self._until.popitem(last=False)

    def lookup(self, credential: str | None) -> float | None:
        """The window end of a boxed credential, None when it is not boxed."""
        if credential is None:
            return None
        with self._lock:
            until = self._until.get(credential)
            if until is None:
                return None
            if until <= time.time():
                del self._until[credential]
                return None
            return until

    def clear(self) -> None:
        with self._lock:
            self._until.clear()


penalty_box = PenaltyBox()
# How long a boxed request waits for its 429 (seconds).
BOX_DELAY_SECONDS = 0.25
