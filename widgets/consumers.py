"""``/ws/kpis/``: the KPI summary, pushed when it changes (see widgets.live)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from molam_ops.identity import KNOWN_ROLES, Principal, principal_from_user
from molam_ops.lib import parsers
from widgets import selectors
from widgets.auth import SUBPROTOCOL
from widgets.live import hub, summary_frame

# Close codes (4000-4999: the application's): like HTTP 401 and 403.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class KpiConsumer(AsyncJsonWebsocketConsumer):
    """Sends ``{"type": "summary", "summary": {...}}`` on connect and whenever
    the summary's content changes; ``{"type": "refresh"}`` asks for the latest
    (answered from the cache, so a client cannot make it recompute faster
    than ``KPI_CACHE_SECONDS``)."""

    # No channel of its own: the hub's one channel per process receives the
    # group's messages (widgets.live). An alias that names no layer makes
    # channels skip the per-socket channel and its receive loop (1,000 Redis
    # readers per process, which timed out under load and closed sockets).
    channel_layer_alias = "widgets.kpi-sockets-have-no-channel"
    digest = ""
    expiry: asyncio.TimerHandle | None = None
    joined = False

    async def connect(self) -> None:
        principal = await self._principal()
        # accepted first, so the client sees the close code, not a bare 403
        offered = self.scope.get("subprotocols") or []
        await self.accept(SUBPROTOCOL if SUBPROTOCOL in offered else None)
        if principal is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not principal.roles & KNOWN_ROLES:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        exp = principal.claims.get("exp") if principal.kind == "jwt" else None
        if isinstance(exp, int | float):
            # the socket lives no longer than the token that opened it
            self.expiry = asyncio.get_running_loop().call_later(
                max(0.0, exp - time.time()),
                lambda: asyncio.ensure_future(self.close(code=CLOSE_UNAUTHENTICATED)),
            )
        # the hub's one channel per process is in the group, not this socket's
        self.joined = True
        hub.attach(self)
        summary = await database_sync_to_async(selectors.kpi_summary_cached)()
        await self.push(summary_frame(summary), selectors.summary_digest(summary))

    async def _principal(self) -> Principal | None:
        if "principal" in self.scope:  # a token was given (widgets.auth)
            return self.scope["principal"]
        user = self.scope.get("user")
        return await database_sync_to_async(principal_from_user)(user)

    async def disconnect(self, code: int) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        if self.joined:
            hub.detach(self)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            # bounded depth: 100,000 "[" would overflow the decoder's recursion
            return parsers.loads(text_data)
        except ValueError:  # a garbled frame is ignored, not a crash (1011)
            return None

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "refresh":
            self.digest = ""  # answer even if nothing changed
            hub.refresh()

    async def push(self, frame: str, digest: str) -> None:
        """Send the hub's encoded summary, unless this socket has it already."""
        if digest == self.digest:
            return
        self.digest = digest
        await self.send(text_data=frame)
