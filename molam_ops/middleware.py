"""Request context: a request id on every request, echoed in ``X-Request-ID``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from molam_ops.request_context import request_id_var

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
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response
