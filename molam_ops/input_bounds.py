"""Refusals of input no handler should see: characters the database cannot
store in the path, the query string or a header, and an Authorization header
longer than any token Molam ID issues.

The HTTP server bounds the whole request head first (:mod:`molam_ops.lib.serving`);
the body is bounded by :mod:`molam_ops.hardening` and its JSON by
:mod:`molam_ops.lib.parsers`. These refusals leave no audit row: the audit
row would have to hold the very characters that cannot be stored, and none
of them names a caller worth recording (the token is not read).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from molam_ops.errors import OpsError
from molam_ops.hardening import html_error, json_error
from molam_ops.lib.parsers import UNSTORABLE

# An RS256 token with a few roles is about 1 kB; 8 kB is what common proxies
# allow a whole header line. Longer is refused before any JWT work.
MAX_AUTHORIZATION_BYTES = 8192


def header_too_large(name: str, limit: int) -> OpsError:
    return OpsError(
        "header_too_large",
        _("The %(name)s header is longer than %(limit)s bytes.")
        % {"name": name, "limit": limit},
        status=431,
        fields={name: [_("At most %(limit)s bytes.") % {"limit": limit}]},
    )


def unstorable(where: str) -> OpsError:
    return OpsError(
        "invalid_character",
        _("The request contains U+0000 or a lone surrogate, which is not allowed."),
        fields={where: [_("U+0000 and lone surrogates are not allowed.")]},
    )


def input_refusal(request: HttpRequest) -> OpsError | None:
    """Why ``request`` is refused before any view reads it, or None."""
    # META holds headers as latin-1 text: one character per byte
    if len(request.META.get("HTTP_AUTHORIZATION", "")) > MAX_AUTHORIZATION_BYTES:
        return header_too_large("Authorization", MAX_AUTHORIZATION_BYTES)
    if UNSTORABLE.search(request.path):
        return unstorable("path")
    # %00 decodes to U+0000 in a query value; a filter compares it in SQL
    for key, values in request.GET.lists():
        if UNSTORABLE.search(key) or any(UNSTORABLE.search(v) for v in values):
            return unstorable("query")
    for name, value in request.headers.items():
        # header values are data too: Idempotency-Key, User-Agent are stored
        if UNSTORABLE.search(value) or UNSTORABLE.search(name):
            return unstorable("headers")
    return None


class InputBoundsMiddleware:
    """400 ``invalid_character`` / 431 ``header_too_large`` (the §6 JSON on
    /api, the refusal page elsewhere: the admin looks objects up by path)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        error = input_refusal(request)
        if error is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return json_error(error)
        return html_error(request, error, title=_("Bad request"))
