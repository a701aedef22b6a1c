"""The one application error type and the one renderer of DESIGN §6 errors.

``OpsError`` is raised by services, the runner and views alike; DRF's own
exceptions (404, 405, parse errors, authentication) and Django's 404/500 under
``/api`` are rendered into the same ``{"ok": false, "error": {...}}`` body.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

log = logging.getLogger(__name__)


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


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict:
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
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "token_invalid"
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
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
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
    if isinstance(exc, exceptions.APIException):
        err = from_drf(exc)
        if isinstance(
            exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed
        ):
            err.status = status.HTTP_401_UNAUTHORIZED
            err.headers.setdefault("WWW-Authenticate", 'Bearer realm="molam-ops"')
    elif isinstance(exc, OpsError):
        err = exc
    else:
        return None  # a bug: Django's 500 handler below renders it
    return Response(err.body(), status=err.status, headers=err.headers)


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


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body("internal_error", _("Internal error; it has been logged.")),
            status=500,
        )
    return defaults.server_error(request)
