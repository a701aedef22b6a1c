"""``/healthz`` (the process answers) and ``/readyz`` (its database does)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _

from molam_ops.errors import error_body


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def _check_database() -> str | None:
    try:
        connection.ensure_connection()
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception as exc:
        return type(exc).__name__
    return None


def check_redis() -> str | None:
    """None when Redis answers a PING within a second (or none is configured),
    else the error's class name. /readyz and the ``molam_ops_redis_up`` gauge
    (molam_ops/collectors.py) ask it."""
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        with redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        ) as client:
            client.ping()
    except Exception as exc:
        return type(exc).__name__
    return None


def readyz(request: HttpRequest) -> JsonResponse:
    """503 only when the database does not answer: it holds every effect. A
    Redis outage is reported (``"redis": "unreachable"``, and the
    ``molam_ops_redis_up`` gauge) but keeps the pod in rotation (DESIGN §10):
    actions work without it, and a whole fleet leaving rotation at once
    would stop the freezes an incident needs."""
    database = _check_database()
    if database:
        body = error_body(
            "not_ready",
            _("Not ready: %(deps)s unreachable.") % {"deps": "database"},
            {"database": [database]},
        )
        return JsonResponse(body, status=503)
    redis = "not configured"
    if settings.REDIS_URL:
        redis = "unreachable" if check_redis() else "ok"
    return JsonResponse({"ok": True, "checks": {"database": "ok", "redis": redis}})
