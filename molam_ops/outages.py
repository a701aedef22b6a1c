"""Working through an outage of Redis (DESIGN §10), and naming the dependency
a request could not do without (DESIGN §6).

Redis carries the shared cache (the rate limit's counters, the KPI summary,
the outbox relay's flag, refusal windows), the Celery broker and the channel
layer; none of them holds the effect of an ops action, which lives in the
database. So while Redis does not answer, each process goes on without it:
the cache falls back to a cache of the process's own (the rate limit then
counts per process, with the same per-minute budget), the relay's nudge and
the KPI publication are skipped (beat relays the outbox once Redis is back),
and nothing waits for Redis longer than its socket timeouts.

:data:`redis_outage` is that process-wide state: the first failure switches
the process to its fallbacks with one log line; Redis is tried again at
most every ``REDIS_RETRY_SECONDS``; its first answer switches back with one
more line. Every use of a fallback is counted in
``molam_ops_dependency_fallback_total{dependency, use}`` and
``molam_ops_dependency_degraded{dependency}`` is 1 while a process is on them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from kombu.exceptions import OperationalError as KombuOperationalError
from prometheus_client import Counter, Gauge
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

FALLBACK_USE_LABELS = ("cache", "rate_limit", "broker", "channel_layer")
FALLBACK_USES = Counter(
    "molam_ops_dependency_fallback_total",
    "Operations served by a fallback because a dependency did not answer, by"
    " dependency and use (cache, rate_limit, broker, channel_layer).",
    ["dependency", "use"],
)
DEGRADED = Gauge(
    "molam_ops_dependency_degraded",
    "1 while a process works without the dependency (on its fallbacks).",
    ["dependency"],
    multiprocess_mode="livemax",
)
# The errors that say "the server is not there" (refused, reset, timed out,
# still loading its data), as opposed to a bad command.
REDIS_DOWN_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
)
# kombu wraps the former when publishing to a Redis broker
BROKER_DOWN_ERRORS = (*REDIS_DOWN_ERRORS, KombuOperationalError)


class Outage:
    """One dependency's state in this process: up, or down since a failure
    and not to be tried again before ``retry_at``."""

    def __init__(self, dependency: str) -> None:
        self.dependency = dependency
        self.down = False
        self.retry_at = 0.0
        self._lock = threading.Lock()

    def skip(self, use: str) -> bool:
        """True while the dependency is known down and not yet due for a new
        try: the caller uses its fallback at once (and it is counted)."""
        if self.down and time.monotonic() < self.retry_at:
            self.fell_back(use)
            return True
        return False

    def fell_back(self, use: str) -> None:
        FALLBACK_USES.labels(dependency=self.dependency, use=use).inc()

    def failed(self, exc: BaseException, use: str) -> bool:
        """Record a failure seen by ``use``; True when it switched the process
        to its fallbacks (it was up until now)."""
        self.fell_back(use)
        with self._lock:
            self.retry_at = time.monotonic() + settings.REDIS_RETRY_SECONDS
            if self.down:
                return False
            self.down = True
        DEGRADED.labels(dependency=self.dependency).set(1)
        log.warning(
            "%s unreachable (%s: %s): this process falls back to its own cache"
            " and rate limit, and skips broker and channel-layer sends, until"
            " it answers",
            self.dependency,
            type(exc).__name__,
            exc,
            extra={"dependency": self.dependency, "use": use},
        )
        return True

    def answered(self) -> None:
        """The dependency answered: back from the fallbacks, if on them."""
        if not self.down:
            return
        with self._lock:
            if not self.down:
                return
            self.down = False
        DEGRADED.labels(dependency=self.dependency).set(0)
        log.warning(
            "%s answers again: fallbacks off",
            self.dependency,
            extra={"dependency": self.dependency},
        )


redis_outage = Outage("redis")


def queue_task(name: str, what: str, **options: Any) -> bool:
    """Queue the Celery task ``name`` after an action a person may be waiting
    on (a freeze in an incident); False when it could not be. Never fails and
    never waits on a Redis this process knows is down: what the task would do
    waits for beat. ``what`` names it in the log. The task is found by name,
    so that the modules tasks import need not import them."""
    from celery import current_app

    if settings.REDIS_URL and redis_outage.skip("broker"):
        return False
    try:
        # CELERY_TASK_PUBLISH_RETRY_POLICY: one quick retry, then give up
        current_app.tasks[name].apply_async(**options)
    except Exception as exc:
        queue_failed(exc, what)
        return False
    return True


def queue_failed(exc: BaseException, what: str) -> None:
    """Log a task that could not be queued, unless it is the outage already
    reported (once, when the process switched to its fallbacks)."""
    down = settings.REDIS_URL and isinstance(exc, BROKER_DOWN_ERRORS)
    if down and redis_outage.failed(exc, "broker"):
        return
    log.warning("could not queue %s (%s: %s)", what, type(exc).__name__, exc)
