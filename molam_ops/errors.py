"""The one application error type and the one renderer of DESIGN §6 errors.

``OpsError`` is raised by services, the runner and views alike; DRF's own
exceptions (404, 405, parse errors, authentication) and Django's 404/500 under
``/api`` are rendered into the same ``{"ok": false, "error": {...}}`` body.

A dependency that is down (the database not answering; Redis, where a
request cannot do without it) is 503 ``service_unavailable`` with
``Retry-After`` and ``fields.dependency``, never a 500: in a DRF view through
:func:`exception_handler`, anywhere else (a middleware reading the session,
an admin page) through :func:`handler500`. Each is logged on one line
naming the dependency, not as an error with its traceback.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from molam_ops.outages import BROKER_DOWN_ERRORS

log = logging.getLogger(__name__)
# What a 503 service_unavailable asks the client to wait (seconds): about
# the time a restarted PostgreSQL or Redis takes to answer again.
RETRY_AFTER_SECONDS = 5


class OpsError(Exception):
    """A refusal with a stable ``code``, a localized message and field errors."""

    def __init__(
        self,
        code: str,
        message: Any,
        *,
        status: int = 400,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields or {}
        self.headers = headers or {}
        # the ``rejected`` audit row the core wrote for it, once written
        self.audit_row: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        return error_body(self.code, str(self.message), self.fields)


def error_body(
    code: str, message: str, fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "ok": False,
        "error": {"code": code, "message": message, "fields": fields or {}},
    }


# DRF exception class → our code; anything else uses DRF's own default_code.
_CODES: dict[type, str] = {
    exceptions.ParseError: "malformed_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "token_invalid",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "validation_error",
}


def outage_dependency(exc: BaseException | None) -> str | None:
    """The dependency whose outage ``exc`` is ("database", "redis"), if any.

    Django's OperationalError and InterfaceError are the database's own
    "cannot talk to the server" family (refused, closed, timed out); Redis
    errors reach here only from code that cannot do without Redis."""
    if isinstance(exc, DatabaseOperationalError | InterfaceError):
        return "database"
    if isinstance(exc, BROKER_DOWN_ERRORS):
        return "redis"
    return None


def service_unavailable(dependency: str) -> OpsError:
    return OpsError(
        "service_unavailable",
        gettext_lazy("A service this request needs is unavailable; try again shortly."),
        status=503,
        fields={"dependency": dependency},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def log_outage(request: Any, dependency: str, exc: BaseException) -> None:
    """The one line an outage writes per request (Django's own error line
    with its traceback is suppressed: ``_has_been_logged``)."""
    log.warning(
        "%s unavailable: %s %s answered 503 (%s: %s)",
        dependency,
        getattr(request, "method", ""),
        getattr(request, "path", ""),
        type(exc).__name__,
        str(exc).strip().splitlines()[0] if str(exc).strip() else "",
        extra={"dependency": dependency},
    )


def _flatten(detail: Any) -> Any:
    """DRF ``ErrorDetail`` trees → plain lists/dicts of strings."""
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def validation_fields(detail: Any) -> dict[str, Any]:
    flat = _flatten(detail)
    if isinstance(flat, dict):
        return flat
    return {"non_field_errors": flat if isinstance(flat, list) else [flat]}


def from_drf(exc: exceptions.APIException) -> OpsError:
    code = next((c for k, c in _CODES.items() if isinstance(exc, k)), None)
    if isinstance(exc, exceptions.AuthenticationFailed):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "token_invalid"
        if code not in {"token_invalid", "not_authenticated"}:
            code = "token_invalid"
    if isinstance(exc, exceptions.ValidationError):
        return OpsError(
            "validation_error",
            gettext_lazy("Some fields are invalid."),
            status=400,
            fields=validation_fields(exc.detail),
        )
    detail = exc.detail if isinstance(exc.detail, str) else _flatten(exc.detail)
    headers = {}
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait))
    return OpsError(
        code or str(exc.default_code),
        detail if isinstance(detail, str) else str(exc.default_detail),
        status=exc.status_code,
        headers=headers,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error under /api gets the §6 body."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # imported here: the throttle's modules import this one
        from molam_ops.throttling import throttle_unauthenticated

        # refused before DRF's throttles run; counted on the address instead
        exc = throttle_unauthenticated(context["request"]) or exc
    dependency = outage_dependency(exc)
    if isinstance(exc, exceptions.APIException):
        err = from_drf(exc)
        if isinstance(
            exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed
        ):
            err.status = status.HTTP_401_UNAUTHORIZED
            err.headers.setdefault("WWW-Authenticate", 'Bearer realm="molam-ops"')
    elif isinstance(exc, OpsError):
        err = exc
    elif dependency:
        log_outage(context["request"], dependency, exc)
        err = service_unavailable(dependency)
    else:
        return None  # a bug: Django's 500 handler below renders it
    response = Response(err.body(), status=err.status, headers=err.headers)
    if dependency:  # logged above, once: Django's own line is not added
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


# Exempt: it changes nothing, and a POST to an unknown /api path must get this
# JSON 404, not the CSRF middleware's HTML 403 (found by tests/fuzz).
@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        error_body("not_found", _("No such endpoint or resource.")), status=404
    )


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's own refusals (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a bad Host
    header) happen outside DRF; under /api they are JSON too."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(
            error_body("request_too_large", _("The request body is too large.")),
            status=413,
        )
    return JsonResponse(
        error_body("bad_request", _("The request could not be understood.")),
        status=400,
    )


def outage_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 of an outage met outside a DRF view (logged here, once)."""
    dependency = outage_dependency(exc) or "unknown"
    log_outage(request, dependency, exc)
    err = service_unavailable(dependency)
    response: HttpResponse
    if _is_api(request):
        response = JsonResponse(err.body(), status=503)
    else:  # no template: rendering one may need the database too
        response = HttpResponse(
            str(err.message), status=503, content_type="text/plain; charset=utf-8"
        )
    response["Retry-After"] = err.headers["Retry-After"]
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def handler500(request: HttpRequest) -> HttpResponse:
    """Django calls it inside the ``except`` of the uncaught exception, so
    ``sys.exc_info()`` says whether it was an outage (503) or a bug (500)."""
    exc = sys.exc_info()[1]
    if exc is not None and outage_dependency(exc):
        return outage_response(request, exc)
    if _is_api(request):
        return JsonResponse(
            error_body("internal_error", _("Internal error; it has been logged.")),
            status=500,
        )
    return defaults.server_error(request)
