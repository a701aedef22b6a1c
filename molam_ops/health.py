"""``/healthz`` (the process answers) and ``/readyz`` (its dependencies do)."""

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
    failing = {
        name: [err]
        for name, err in (("database", _check_database()), ("redis", check_redis()))
        if err
    }
    if failing:
        body = error_body(
            "not_ready",
            _("Not ready: %(deps)s unreachable.") % {"deps": ", ".join(failing)},
            failing,
        )
        return JsonResponse(body, status=503)
    return JsonResponse(
        {
            "ok": True,
            "checks": {
                "database": "ok",
                "redis": "ok" if settings.REDIS_URL else "not configured",
            },
        }
    )
