"""Request context: a request id on every request, echoed in ``X-Request-ID``;
and, with ``DEBUG`` on, an outage met in a middleware answered 503 as with it
off (:func:`molam_ops.errors.handler500`), not with Django's debug page."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from molam_ops.errors import outage_dependency, outage_response
from molam_ops.request_context import request_id_var


@receiver(got_request_exception)
def _remember_outage(
    sender: Any, request: HttpRequest | None = None, **kw: Any
) -> None:
    """Django sends this inside the ``except`` of an uncaught exception,
    before it renders the 500 (with DEBUG on, its debug page)."""
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and outage_dependency(exc):
        request._molam_outage = exc  # type: ignore[attr-defined]


_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        # an id from outside is kept only if it is harmless in a log line
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        # an attribute of ours, which HttpRequest does not declare
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
            outage = getattr(request, "_molam_outage", None)
            if outage is not None and settings.DEBUG and response.status_code == 500:
                response = outage_response(request, outage)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response
