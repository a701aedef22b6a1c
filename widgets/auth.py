"""Who opens a KPI socket: a Molam ID JWT, or the browser's session.

A token comes in the query (``/ws/kpis/?token=<jwt>``) or in the subprotocols
(``new WebSocket(url, ["molam.jwt", jwt])``; the server answers with
``molam.jwt``). A token is not ambient authority, so token sockets need no
Origin check and work from native apps. Without a token the session cookie
is used, and only from an allowed Origin (``AllowedHostsOriginValidator`` in
``molam_ops/asgi.py``): a cookie would otherwise let any site open a socket
in the operator's name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

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
