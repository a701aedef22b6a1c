"""The API rate limit: ``RATE_LIMIT_PER_MINUTE`` requests per caller per
minute, and ``RATE_LIMIT_ANONYMOUS_PER_MINUTE`` per client address for
requests without valid credentials, shared by every process through the
Django cache.

A fixed window (the wall-clock minute) counted with ``cache.add`` then
``cache.incr``: both are single atomic commands on Redis, so N web processes
share one budget and exactly one of them sees the count go one past the
limit. Django's file cache does ``incr`` as read-then-write, so there the pair
runs under an ``flock`` on a file beside the cache: correct across the
processes of one machine, which is all that cache is ever shared by
(:func:`molam_ops.hardening.shared_cache_lock`).

Only DRF views are counted (every /api view); /healthz, /readyz, /metrics and
static files are plain Django or WhiteNoise and never limited. DRF checks
authentication and permissions before throttles, so a request without valid
credentials (none, a bad or expired token) is refused with 401 before the
throttle runs: the exception handler (:mod:`molam_ops.errors`) counts it
then, with :func:`throttle_unauthenticated`, on its address's anonymous
budget, and past that budget the 401 becomes the same 429. An anonymous call
of a public endpoint (the schema) draws on that budget too. A caller with
valid credentials never does, whatever its address: colleagues behind one
office NAT keep working while a script there fails to sign in.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from molam_ops.cache import RedisCache
from molam_ops.errors import OpsError
from molam_ops.hardening import record_refusal, request_client_ip, shared_cache_lock
from molam_ops.identity import principal_from_user
from molam_ops.penalty_box import RATE_LIMITED, penalty_box, request_credential

WINDOW_SECONDS = 60
# Counters outlive their window by this much, so a request that read the
# clock just before the minute turned never finds its key already expired
# (Redis INCR on a missing key would make one without an expiry).
KEY_GRACE_SECONDS = 60


def counter_key(subject: str, now: float) -> str:
    """The cache key counting ``subject``'s requests in the window of ``now``
    (hashed: a JWT ``sub`` may hold anything, cache keys may not)."""
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"molam:ratelimit:{digest}:{int(now // WINDOW_SECONDS)}"


def hit(subject: str, now: float) -> tuple[int, float]:
    """Count one request of ``subject``; return its count in the current
    window and when that window ends (epoch seconds)."""
    window = int(now // WINDOW_SECONDS)
    key = counter_key(subject, now)
    ends = float((window + 1) * WINDOW_SECONDS)
    backend = caches["default"]
    if isinstance(backend, RedisCache):  # production: one round trip
        return backend.count_hit(key, WINDOW_SECONDS + KEY_GRACE_SECONDS), ends
    with shared_cache_lock():
        cache.add(key, 0, timeout=WINDOW_SECONDS + KEY_GRACE_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between the two calls: count afresh
            cache.add(key, 1, timeout=WINDOW_SECONDS + KEY_GRACE_SECONDS)
            count = 1
    return int(count), ends


def address_subject(request: Any) -> str:
    return f"ip:{request_client_ip(request) or 'unknown'}"


def caller_budget(request: Any) -> tuple[str, int]:
    """Whose budget a request draws on and its size: the authenticated
    principal's own, else its client address's anonymous one."""
    principal = principal_from_user(getattr(request, "user", None))
    if principal is not None:
        return f"sub:{principal.id}", settings.RATE_LIMIT_PER_MINUTE
    return address_subject(request), settings.RATE_LIMIT_ANONYMOUS_PER_MINUTE


def subject_of(request: Any) -> str:
    """The principal's subject when authenticated, else the client address."""
    return caller_budget(request)[0]


def charge(request: Any, subject: str, limit: int) -> float | None:
    """Count one request of ``subject`` against ``limit`` (> 0): ``None``
    within it, else when the window ends (epoch seconds).

    The first refused request of a subject in a window writes one
    ``rejected`` audit row; the rest of a flood in that window writes none,
    so a flood cannot fill the append-only audit table.
    """
    count, reset_at = hit(subject, time.time())
    if count <= limit:
        return None
    if count == limit + 1:  # exactly one process sees this count
        error = OpsError(
            "rate_limited",
            _("Too many requests; slow down."),
            status=429,
        )
        record_refusal(
            request,
            error,
            details={"limit": limit, "window_seconds": WINDOW_SECONDS},
        )
    RATE_LIMITED.labels(layer="django").inc()
    return reset_at


def throttle_unauthenticated(request: Any) -> exceptions.Throttled | None:
    """A request refused for its credentials, counted on its address's
    anonymous budget: ``Throttled`` (429) past it, else ``None`` (the 401
    stands)."""
    limit = settings.RATE_LIMIT_ANONYMOUS_PER_MINUTE
    if limit <= 0:
        return None
    reset_at = charge(request, address_subject(request), limit)
    if reset_at is None:
        return None
    return exceptions.Throttled(wait=max(1, math.ceil(reset_at - time.time())))


class SharedRateThrottle(BaseThrottle):
    """DRF throttle (``DEFAULT_THROTTLE_CLASSES``): 429 ``rate_limited`` with
    ``Retry-After`` (seconds to the end of the window) over the limit, with
    one audit row per caller and window (:func:`charge`)."""

    def __init__(self) -> None:
        self.reset_at = 0.0

    def allow_request(self, request: Any, view: Any) -> bool:
        subject, limit = caller_budget(request)
        if limit <= 0:
            return True
        reset_at = charge(request, subject, limit)
        if reset_at is None:
            return True
        self.reset_at = reset_at
        # the rest of this window is refused by the ASGI layer in front of
        # Django (BodyLimitASGI), cheaply: only this verified credential
        credential = request_credential(request)
        if credential is not None:
            penalty_box.add(credential, reset_at)
        return False

    def wait(self) -> float:
        return max(1, math.ceil(self.reset_at - time.time()))
