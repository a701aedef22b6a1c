"""Who opens a KPI socket: a Molam ID JWT, or the browser's session; and
from which pages.

A token comes in the query (``/ws/kpis/?token=<jwt>``) or in the subprotocols
(``new WebSocket(url, ["molam.jwt", jwt])``; the server answers with
``molam.jwt``). Without a token the session cookie is used.

Every socket passes :class:`SocketOriginValidator` first (``molam_ops/asgi.py``),
token and session alike: a browser page may open one only from this
service's own hosts (``ALLOWED_HOSTS``) or an origin of
``CORS_ALLOWED_ORIGINS``, the same list as the HTTP API's. A cookie would
otherwise let any site open a socket in the operator's name, and a token
leaked to another site is no reason to serve that site either. A client
that sends no Origin is not a browser page (a native app, a script): no page
can ride anyone's cookie through it, so it is let through, with a token or a
session still required as always.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from rest_framework.exceptions import AuthenticationFailed

from molam_ops.identity import decode_token

SUBPROTOCOL = "molam.jwt"
ASGIApp = Any


def token_of(scope: dict[str, Any]) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    if query.get("token"):
        return query["token"][0]
    protocols = list(scope.get("subprotocols") or [])
    if SUBPROTOCOL in protocols:
        rest = protocols[protocols.index(SUBPROTOCOL) + 1 :]
        return rest[0] if rest else ""
    return None


class JWTAuthMiddleware:
    """With a token: ``scope["principal"]`` (or ``scope["auth_error"]``), then
    ``inner``. Without one: ``otherwise`` (the session stack)."""

    def __init__(self, inner: ASGIApp, *, otherwise: ASGIApp) -> None:
        self.inner = inner
        self.otherwise = otherwise

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        raw = token_of(scope)
        if raw is None:
            return await self.otherwise(scope, receive, send)
        scope = dict(scope)
        try:
            scope["principal"] = decode_token(raw)
        except AuthenticationFailed:
            scope["principal"] = None
            scope["auth_error"] = "token_invalid"
        return await self.inner(scope, receive, send)


class SocketOriginValidator(OriginValidator):
    """channels' ``OriginValidator`` over this service's hosts and
    ``CORS_ALLOWED_ORIGINS``, read at each connection (so a test's settings
    apply); no Origin header at all is let through (see the module's
    docstring), where channels refuses it."""

    def __init__(self, application: ASGIApp) -> None:
        self.application = application

    @property
    def allowed_origins(self) -> list[str]:
        hosts = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not hosts:  # as AllowedHostsOriginValidator does
            hosts = ["localhost", "127.0.0.1", "[::1]"]
        # a host (ALLOWED_HOSTS) matches any scheme and port, an origin of
        # CORS_ALLOWED_ORIGINS its own scheme, host and port
        return [*hosts, *settings.CORS_ALLOWED_ORIGINS]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        # channels' own __call__, but for the header left out (allowed), a
        # header it cannot parse ("http://[" raises there) and the refusal
        origins = [v for k, v in scope.get("headers", ()) if k == b"origin"]
        if not origins:
            return await self.application(scope, receive, send)
        try:
            parsed = urlparse(origins[-1].decode("latin1"))
        except ValueError:
            parsed = None
        if parsed is not None and self.valid_origin(parsed):
            return await self.application(scope, receive, send)
        return await Refusal()(scope, receive, send)

    def valid_origin(self, parsed_origin: Any) -> bool:
        try:
            return bool(super().valid_origin(parsed_origin))
        except ValueError:  # a port out of range: no origin of ours
            return False


class Refusal(WebsocketDenier):
    """channels' denier (a 403 at the handshake), without a channel of its
    own: with Redis each refused handshake would otherwise open a channel
    and a reader on it (see ``KpiConsumer.channel_layer_alias``)."""

    channel_layer_alias = "widgets.refused-sockets-have-no-channel"
