"""Refusals made before the runner: bodies over the size limit, callers outside
``OPS_IP_ALLOWLIST`` (and, with :mod:`molam_ops.throttling`, callers over the
rate limit; with :mod:`molam_ops.logins`, admin logins locked out).

Refusals of a caller (address, rate) leave a ``rejected`` audit row through
the runner's audit port (DESIGN §3), never through a second audit path.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.filebased import FileBasedCache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions

from molam_ops.actions.context import ActionContext, RequestMeta
from molam_ops.actions.ports import audit_sink
from molam_ops.cors import scope_cors_headers
from molam_ops.errors import OpsError, outage_dependency
from molam_ops.identity import KNOWN_ROLES, Principal, decode_token, principal_from_user
from molam_ops.lib.addresses import (
    Address,
    client_address,
    in_networks,
    networks,
    parse_address,
)
from molam_ops.penalty_box import (
    BOX_DELAY_SECONDS,
    RATE_LIMITED,
    penalty_box,
    rate_limited,
    scope_credential,
)

log = logging.getLogger(__name__)

ANONYMOUS = Principal(id="anonymous", roles=frozenset(), kind="anonymous")
# The action_type of audit rows for refusals that no action got to see.
REFUSED_REQUEST = "api_request"
REFUSED_ADMIN_REQUEST = "admin_request"
# What OPS_IP_ALLOWLIST fences: the API's ops endpoints, and the whole admin
# (its login included), whose actions and confirmation pages run ops actions.
FENCED_PREFIXES = ("/api/ops/", "/admin/")
# A caller refused again and again is recorded once per window per address or
# subject: a flood must not be able to fill the append-only audit table.
AUDIT_WINDOW_SECONDS = 60

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def request_client_addr(request: HttpRequest) -> Address | None:
    """The caller's address (``TRUSTED_PROXIES`` decides whether X-Forwarded-For
    counts), computed once per request; also sets ``request.client_ip``."""
    # the two attributes are this module's per-request cache, which
    # HttpRequest does not declare
    if hasattr(request, "client_addr"):
        cached: Address | None = request.client_addr
        return cached
    addr = client_address(
        request.META.get("REMOTE_ADDR", ""),
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        networks(tuple(settings.TRUSTED_PROXIES)),
    )
    request.client_addr = addr  # type: ignore[attr-defined]
    request.client_ip = str(addr) if addr else None  # type: ignore[attr-defined]
    return addr


def request_client_ip(request: HttpRequest) -> str | None:
    addr = request_client_addr(request)
    return str(addr) if addr else None


def request_caller(request: Any) -> Principal | None:
    """Who is calling, for the audit row of a refusal: the authenticated user
    (DRF or session), else a valid bearer token, else nobody."""
    principal = principal_from_user(getattr(request, "user", None))
    if principal is not None:
        return principal
    scheme, _sep, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    try:
        return decode_token(raw.strip())
    except exceptions.APIException:
        return None


def record_refusal(
    request: Any,
    error: OpsError,
    *,
    principal: Principal | None = None,
    details: dict[str, Any] | None = None,
    action_type: str = REFUSED_REQUEST,
) -> None:
    """Append the ``rejected`` row of a refusal made before the runner.

    A failed write is logged, not raised: the caller is refused either way,
    and a 500 instead of the 403/429 would tell it nothing more.
    """
    principal = principal or request_caller(request) or ANONYMOUS
    ctx = ActionContext(
        action_id=uuid.uuid4(),
        action_type=action_type,
        principal=principal,
        role=principal.acting_role(KNOWN_ROLES) or "",
        meta=RequestMeta(
            ip=request_client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
            request_id=getattr(request, "request_id", ""),
        ),
    )
    try:
        # a short transaction of its own: the chain lock is held only for it
        with transaction.atomic():
            audit_sink().append(
                ctx,
                status="rejected",
                target={"method": request.method, "path": request.path[:512]},
                details={
                    "code": error.code,
                    "reason": error.code,
                    "message": str(error.message),
                    "fields": error.fields,
                    **(details or {}),
                },
            )
    except Exception as exc:
        dependency = outage_dependency(exc)
        if dependency is None:
            log.exception(
                "could not audit the refusal %s of %s", error.code, ctx.actor_id
            )
        else:  # an outage, not a bug: one line
            log.warning(
                "could not audit the refusal %s of %s: %s unavailable (%s)",
                error.code,
                ctx.actor_id,
                dependency,
                type(exc).__name__,
                extra={"dependency": dependency},
            )


@contextmanager
def shared_cache_lock() -> Iterator[None]:
    """Makes a read-then-write of the default cache atomic where the backend
    is not: Django's file cache does ``add`` and ``incr`` as a read and a
    write, so there they run under an ``flock`` beside the cache files (one
    machine's processes share that cache). Redis needs no lock."""
    backend = caches["default"]
    if not isinstance(backend, FileBasedCache):
        yield
        return
    # the backend's resolved LOCATION; django-stubs leaves the private
    # attribute out
    directory = Path(backend._dir)  # type: ignore[attr-defined]
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "ratelimit.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def first_in_window(kind: str, subject: str) -> bool:
    """True once per ``AUDIT_WINDOW_SECONDS`` per subject, across processes
    (``cache.add`` is atomic on Redis; on the file cache, under the lock)."""
    window = int(time.time() // AUDIT_WINDOW_SECONDS)
    key = f"molam:refused:{kind}:{subject}:{window}"
    with shared_cache_lock():
        return bool(cache.add(key, 1, timeout=AUDIT_WINDOW_SECONDS * 2))


def json_error(error: OpsError) -> JsonResponse:
    response = JsonResponse(error.body(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def html_error(
    request: HttpRequest, error: OpsError, *, title: Any, detail: Any = ""
) -> HttpResponse:
    """The admin's page for a refusal: what ``json_error`` is to the API. It
    may run before LocaleMiddleware, so it picks the reader's language (pass
    lazy strings: they are translated here)."""
    with translation.override(translation.get_language_from_request(request)):
        response = render(
            request,
            "molam_ops/refused.html",
            {
                "title": str(title),
                "code": error.code,
                "message": str(error.message),
                "detail": str(detail),
            },
            status=error.status,
        )
    for name, value in error.headers.items():
        response[name] = value
    return response


class ClientAddressMiddleware:
    """Sets ``request.client_ip``; refuses /api/ops/ and /admin/ to addresses
    outside ``OPS_IP_ALLOWLIST`` (empty: every address) with 403
    ``address_not_allowed`` (the §6 JSON on the API, a page on the admin). An
    unknown address (a trusted proxy's unparseable ``X-Forwarded-For``) is
    outside any list.

    Runs before SecurityMiddleware (which reads X-Forwarded-Proto) and before
    sessions are loaded, so the audit row of a refusal names a JWT caller but
    not a session one; its address is what matters there.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        addr = request_client_addr(request)
        peer = parse_address(request.META.get("REMOTE_ADDR", ""))
        trusted = networks(tuple(settings.TRUSTED_PROXIES))
        if peer is None or not in_networks(peer, trusted):
            # SECURE_PROXY_SSL_HEADER would believe "https" from anyone
            request.META.pop("HTTP_X_FORWARDED_PROTO", None)
        allow = settings.OPS_IP_ALLOWLIST
        if (
            allow
            and request.path.startswith(FENCED_PREFIXES)
            and (addr is None or not in_networks(addr, networks(tuple(allow))))
        ):
            return self._refuse(request, request_client_ip(request))
        return self.get_response(request)

    def _refuse(self, request: HttpRequest, ip: str | None) -> HttpResponse:
        error = OpsError(
            "address_not_allowed",
            gettext_lazy("Requests from your address are not allowed here."),
            status=403,
        )
        api = request.path.startswith("/api/")
        if first_in_window("address", ip or "unknown"):
            record_refusal(
                request,
                error,
                details={"remote_addr": request.META.get("REMOTE_ADDR", "")[:64]},
                action_type=REFUSED_REQUEST if api else REFUSED_ADMIN_REQUEST,
            )
        log.warning("address %s refused on %s", ip, request.path)
        if api:
            return json_error(error)
        return html_error(request, error, title=gettext_lazy("Address not allowed"))


def too_large() -> OpsError:
    # the code Django's own refusal of a body over the limit already answers
    # (errors.handler400): one code for one refusal, whichever layer makes it
    return OpsError(
        "request_too_large", _("The request body is too large."), status=413
    )


def _limit() -> int | None:
    limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit


class BodySizeMiddleware:
    """413 for an /api/ request whose Content-Length is over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``, before any middleware or view reads it.

    Under WSGI the body is still unread here; under ASGI Django's handler has
    already buffered it, which is why :class:`BodyLimitASGI` wraps the app.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = _limit()
        if limit is not None and request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0  # Django treats a bad Content-Length as no body
            if length > limit:
                return json_error(too_large())
        return self.get_response(request)


class BodyLimitASGI:
    """The ASGI side of the body limit, in front of Django's handler (which
    reads a whole body, chunked or not, into a temporary file first), for
    every HTTP path.

    A declared Content-Length over the limit is refused without reading a
    byte; a body without one (chunked) is read only until it passes the
    limit, and within it is handed on with its length declared.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            boxed_until = penalty_box.lookup(scope_credential(scope))
            if boxed_until is not None:
                RATE_LIMITED.labels(layer="asgi").inc()
                # a tarpit: an instant answer lets a flooding client send
                # faster, and parsing its requests then starves other users';
                # sleeping holds no thread
                await asyncio.sleep(BOX_DELAY_SECONDS)
                await _send_error(scope, send, rate_limited(boxed_until), close=False)
                return
        limit = _limit()
        # every path, not only /api: Django's handler spools any body to disk
        # before a view could refuse it (the admin's forms included)
        if scope["type"] != "http" or limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if declared > limit:
                await _send_error(scope, send, too_large())
                return
            await self.app(scope, receive, send)
            return
        buffered: list[dict[str, Any]] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break  # the client went away: Django sees the disconnect
            size += len(message.get("body", b""))
            if size > limit:
                await _send_error(scope, send, too_large())
                return
            if not message.get("more_body", False):
                break

        async def replay() -> dict[str, Any]:
            return buffered.pop(0) if buffered else await receive()

        # Django reads Content-Length bytes and no more: without the header a
        # chunked body would reach the view empty
        headers = [h for h in scope.get("headers", ()) if h[0] != b"transfer-encoding"]
        headers.append((b"content-length", str(size).encode()))
        await self.app({**scope, "headers": headers}, replay, send)


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


async def _send_error(
    scope: dict[str, Any], send: Any, error: OpsError, *, close: bool = True
) -> None:
    body = json.dumps(error.body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), str(v).encode()) for k, v in error.headers.items()]
    # readable by a page of an allowed origin, as Django's refusals are
    headers += scope_cors_headers(scope)
    if close:
        # the rest of the body is not read: the connection cannot be reused
        headers.append((b"connection", b"close"))
    await send(
        {"type": "http.response.start", "status": error.status, "headers": headers}
    )
    await send({"type": "http.response.body", "body": body})
