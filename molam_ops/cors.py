"""CORS on the answers given in front of Django: the penalty box's 429 and
the body limit's 413 (:class:`molam_ops.hardening.BodyLimitASGI`) never pass
through django-cors-headers' middleware, yet a page of an allowed origin must
read them as it reads every other refusal. The library's own decision is
applied to them, so the policy has one implementation.
"""

from __future__ import annotations

import io
from typing import Any

from corsheaders.middleware import CorsMiddleware
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse


def _unused(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


_cors = CorsMiddleware(_unused)


def scope_cors_headers(scope: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """The CORS headers (and ``Vary``) django-cors-headers would add to an
    answer to the request of ``scope`` (an HTTP scope)."""
    request = ASGIRequest(scope, io.BytesIO())
    response = _cors.add_response_headers(request, HttpResponse())
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.items()
        if name.lower().startswith("access-control-") or name.lower() == "vary"
    ]
