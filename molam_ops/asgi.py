"""ASGI entry: HTTP through Django, WebSockets through Channels (widgets)."""

import os
from collections.abc import Callable
from typing import Any

import django
from asgiref.sync import sync_to_async
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.handlers.asgi import ASGIHandler

from molam_ops.boot import load_settings


class SerialASGIHandler(ASGIHandler):
    """Django's ASGI handler, serving a worker's requests one at a time on one
    thread, as a sync (WSGI) worker does.

    The stock handler gives every request a new thread (a
    ``ThreadSensitiveContext``) and runs each sync middleware hook through its
    own thread hop. Database connections belong to a thread, so every request
    opened a new PostgreSQL connection, whatever ``CONN_MAX_AGE`` said, and left
    the old one to the garbage collector: one connection per request, dozens
    left idle, failed requests under load.
    Here the middleware chain is built sync, as under WSGI, and run in asgiref's
    one thread-sensitive thread of the process: one hop per request, one
    persistent connection per worker (closed by ``request_finished`` as usual).
    Async code (websockets, async response iterators) still runs on the loop.
    """

    # set by BaseHandler.load_middleware; django-stubs leaves it undeclared
    _middleware_chain: Callable[..., Any]

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(
            self._middleware_chain, thread_sensitive=True
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP only, not {scope['type']}.")
        await self.handle(scope, receive, send)


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")
load_settings()  # a configuration error: one line naming the variable, exit 1
django.setup(set_prefix=False)
django_asgi = SerialASGIHandler()

# imported after django.setup(): they import models
from channels.auth import AuthMiddlewareStack  # noqa: E402

from molam_ops.hardening import BodyLimitASGI  # noqa: E402
from widgets.auth import JWTAuthMiddleware, SocketOriginValidator  # noqa: E402
from widgets.routing import websocket_urlpatterns  # noqa: E402

sockets = URLRouter(websocket_urlpatterns)
application = ProtocolTypeRouter(
    {
        # an oversized /api body is refused before Django buffers it
        "http": BodyLimitASGI(django_asgi),
        # pages of our hosts or CORS_ALLOWED_ORIGINS only (cross-site socket
        # hijacking), then a JWT (?token= or Sec-WebSocket-Protocol), else the
        # session cookie
        "websocket": SocketOriginValidator(
            JWTAuthMiddleware(sockets, otherwise=AuthMiddlewareStack(sockets))
        ),
    }
)
