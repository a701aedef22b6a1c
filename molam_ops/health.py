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


def _check_redis() -> str | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        ).ping()
    except Exception as exc:
        return type(exc).__name__
    return None


def readyz(request: HttpRequest) -> JsonResponse:
    failing = {
        name: [err]
        for name, err in (("database", _check_database()), ("redis", _check_redis()))
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
