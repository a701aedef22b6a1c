"""Live KPIs: who tells the sockets that the summary changed, and the
per-process hub that recomputes it once and pushes it to local sockets.

Two sources of change:

* ops actions: the runner calls :func:`publish_summary` after the action's
  transaction commits (``molam_ops.actions.ports.after_commit_hooks``,
  registered by ``WidgetsConfig.ready``). It drops the cached summary and
  sends a small ``kpis.changed`` message to the channel group ``kpis``, which
  reaches every process holding sockets (Redis channel layer; in embedded mode
  the in-memory layer, where the web process is the only one with sockets);
* everything else (the payout dispatcher, the breaker, expiry): each process
  holding sockets recomputes every ``KPI_LIVE_INTERVAL`` seconds, through the
  shared cache, so N processes cost about one computation per interval.

Every socket of a process receives the group message; the hub de-duplicates
it by its id, computes the summary once (in the thread where Django's sync
code runs) and sends it only to the sockets that have not seen that content.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache

from molam_ops.actions.context import ActionContext
from widgets import selectors

log = logging.getLogger(__name__)

GROUP = "kpis"


def publish_summary(ctx: ActionContext | None = None) -> None:
    """After an ops action commits: the summary may have changed."""
    cache.delete(selectors.summary_cache_key())
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            GROUP, {"type": "kpis.changed", "id": uuid.uuid4().hex}
        )
    except Exception:  # the sockets catch up at the next interval anyway
        log.warning("could not publish the KPI summary", exc_info=True)


class Listener(Protocol):
    async def push(self, summary: dict[str, Any], digest: str) -> None: ...


class Hub:
    """The sockets of one process (one event loop) and their shared refresh."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.listeners: set[Listener] = set()
        self.seen: deque[str] = deque(maxlen=256)
        self.task: asyncio.Task[None] | None = None
        self.ticker: asyncio.Task[None] | None = None
        self.again = False

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # a new loop (tests, reload): start afresh
            self.__init__()  # type: ignore[misc]
            self.loop = loop

    def attach(self, listener: Listener) -> None:
        self._bind()
        self.listeners.add(listener)
        if self.ticker is None or self.ticker.done():
            self.ticker = asyncio.ensure_future(self._tick())

    def detach(self, listener: Listener) -> None:
        self.listeners.discard(listener)
        if not self.listeners and self.ticker is not None:
            self.ticker.cancel()
            self.ticker = None

    def changed(self, event_id: str) -> None:
        """A ``kpis.changed`` message, once per socket: act on it once."""
        self._bind()
        if event_id in self.seen:
            return
        self.seen.append(event_id)
        self.refresh()

    def refresh(self) -> None:
        if self.task is not None and not self.task.done():
            self.again = True  # a change during the computation: once more
            return
        self.task = asyncio.ensure_future(self._refresh())

    async def _refresh(self) -> None:
        while True:
            self.again = False
            try:
                summary = await database_sync_to_async(selectors.kpi_summary_cached)()
            except Exception:
                log.exception("KPI summary failed")
                return
            digest = selectors.summary_digest(summary)
            await asyncio.gather(
                *(listener.push(summary, digest) for listener in list(self.listeners)),
                return_exceptions=True,
            )
            if not self.again:
                return

    async def _tick(self) -> None:
        while self.listeners:
            await asyncio.sleep(settings.KPI_LIVE_INTERVAL)
            self.refresh()


hub = Hub()
