"""Live KPIs: who tells the sockets that the summary changed, and the
per-process hub that recomputes it once and pushes it to local sockets.

Two sources of change:

* ops actions: the runner calls :func:`publish_summary` after the action's
  transaction commits (``molam_ops.actions.ports.after_commit_hooks``,
  registered by ``WidgetsConfig.ready``). It drops the cached summary (at once,
  so the next read in any process is fresh) and hands a small
  ``kpis.changed`` message to the event loop of the process, which sends it to
  the channel group ``kpis`` (Redis channel layer; in embedded mode the
  in-memory layer, where the web process is the only one with sockets). The
  request does not wait for that send: it cost ~8 ms when made inline, a new
  event loop and Redis connection per action;
* everything else (the payout dispatcher, the breaker, expiry): each process
  holding sockets recomputes every ``KPI_LIVE_INTERVAL`` seconds, through the
  shared cache, so N processes cost about one computation per interval.

The group holds ONE channel per process, the hub's, not one per socket: with
Redis a change is then one message per process instead of one per socket
(1,000 sockets made 1,000 Redis messages and 1,000 reads per process). The hub
de-duplicates messages by id (the local hub is told directly as well), computes
the summary once (in the thread where Django's sync code runs), encodes it
once, and sends the frame only to the sockets that have not seen that content.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import threading
import uuid
from collections import deque
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core.cache import cache

from molam_ops.actions.context import ActionContext
from molam_ops.outages import REDIS_DOWN_ERRORS, redis_outage
from widgets import selectors

log = logging.getLogger(__name__)

GROUP = "kpis"


def publish_summary(ctx: ActionContext | None = None) -> None:
    """After an ops action commits: the summary may have changed."""
    cache.delete(selectors.summary_cache_key())
    event_id = uuid.uuid4().hex
    loop = hub.running_loop()
    layer = get_channel_layer()
    remote = layer is not None and not (
        loop is None and isinstance(layer, InMemoryChannelLayer)
    )  # an in-memory group has no member outside this process's hub
    if remote and not isinstance(layer, InMemoryChannelLayer):
        # Redis known down: other processes' sockets catch up at their
        # next interval
        remote = not redis_outage.skip("channel_layer")
    if loop is None and not remote:
        return
    # Sent from the loop that serves this process's sockets when there is one
    # (the in-memory layer's queues belong to it), else from a loop of our own
    # (a worker, or a web process without sockets yet), kept for the process's
    # life so its Redis connection is reused. In a fresh context: the caller's
    # (a request's, inside asgiref's sync thread) would make the hub's
    # database_sync_to_async refuse to run ("would deadlock").
    (loop or _publisher.loop()).call_soon_threadsafe(
        _on_loop, event_id, loop is not None, remote, context=contextvars.Context()
    )


def _on_loop(event_id: str, local: bool, remote: bool) -> None:
    if local:  # this process holds sockets: tell its hub directly
        hub.changed(event_id)
    if remote:
        task = asyncio.ensure_future(_send(event_id))
        _sending.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(_sending.discard)


_sending: set[asyncio.Future[None]] = set()


async def _send(event_id: str) -> None:
    message = {"type": "kpis.changed", "id": event_id}
    try:
        try:
            await get_channel_layer().group_send(GROUP, message)
        except REDIS_DOWN_ERRORS:
            # a pooled connection from before a Redis restart fails once
            await get_channel_layer().group_send(GROUP, message)
    except Exception as exc:  # the sockets catch up at the next interval anyway
        if isinstance(exc, REDIS_DOWN_ERRORS) and redis_outage.failed(
            exc, "channel_layer"
        ):
            return  # the switch to the fallbacks was logged, once
        log.warning(
            "could not publish the KPI summary (%s: %s)", type(exc).__name__, exc
        )


def _layer_failed(exc: Exception, what: str) -> None:
    """Redis down is logged once, when the process switches to its
    fallbacks (molam_ops.outages), not at every retry of the loops here;
    anything else with its traceback."""
    if isinstance(exc, REDIS_DOWN_ERRORS):
        redis_outage.failed(exc, "channel_layer")
        return
    log.warning(what, exc_info=True)


class _Publisher:
    """A daemon thread running an event loop, started on first use (and again
    in a forked child, where the parent's thread does not exist)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._loop = asyncio.new_event_loop()
                threading.Thread(
                    target=self._loop.run_forever, name="kpi-publisher", daemon=True
                ).start()
            return self._loop


_publisher = _Publisher()


def summary_frame(summary: dict[str, Any]) -> str:
    """The socket message carrying ``summary``, encoded once for every socket."""
    return json.dumps({"type": "summary", "summary": summary})


class Listener(Protocol):
    async def push(self, frame: str, digest: str) -> None: ...


class Hub:
    """The sockets of one process (one event loop), its one channel in the
    group, and their shared refresh."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.listeners: set[Listener] = set()
        self.seen: deque[str] = deque(maxlen=256)
        self.task: asyncio.Task[None] | None = None
        self.ticker: asyncio.Task[None] | None = None
        self.again = False

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # a new loop (tests, reload): start afresh
            self._reset()
            self.loop = loop

    def running_loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop serving this process's sockets, if any is alive."""
        loop = self.loop
        if loop is None or loop.is_closed() or not self.listeners:
            return None
        return loop

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
        """A ``kpis.changed`` message (from the group, or from this process's
        own publisher, so possibly twice): act on it once."""
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
            frame = summary_frame(summary)
            await asyncio.gather(
                *(listener.push(frame, digest) for listener in list(self.listeners)),
                return_exceptions=True,
            )
            if not self.again:
                return

    async def _tick(self) -> None:
        """While sockets are open: the periodic refresh, and the process's
        channel in the group (joined again every time, since a channel layer
        forgets group members after ``group_expiry``)."""
        layer = get_channel_layer()
        channel = await layer.new_channel() if layer is not None else None
        receiver = None
        stop = asyncio.Event()
        try:
            while self.listeners:
                if channel is not None:
                    try:
                        await layer.group_add(GROUP, channel)
                    except Exception as exc:  # Redis away: the refresh goes on
                        _layer_failed(exc, "could not join the KPI group")
                    if receiver is None or receiver.done():
                        receiver = asyncio.ensure_future(self._receive(channel, stop))
                await asyncio.sleep(settings.KPI_LIVE_INTERVAL)
                self.refresh()
        finally:
            stop.set()
            if receiver is not None:
                receiver.cancel()
            if channel is not None:
                await asyncio.shield(_leave(layer, channel, wake=receiver))

    async def _receive(self, channel: str, stop: asyncio.Event) -> None:
        """Until ``stop``. A cancel alone is not enough: one that lands inside
        channels_redis's blocking pop can be lost (seen about once in a dozen
        shutdowns; the task then popped an empty channel for ever), so
        :func:`_leave` also sends this channel a message to wake it."""
        layer = get_channel_layer()
        while not stop.is_set():
            try:
                message = await layer.receive(channel)
            except Exception as exc:  # Redis slow or away: listen again shortly
                if stop.is_set():
                    return
                _layer_failed(exc, "KPI group receive failed")
                await asyncio.sleep(0.5)
                continue
            if message.get("type") == "kpis.changed":
                self.changed(str(message.get("id", "")))


async def _leave(
    layer: Any, channel: str, *, wake: asyncio.Future[None] | None
) -> None:
    try:
        await layer.group_discard(GROUP, channel)
        if wake is not None and not wake.done():
            await layer.send(channel, {"type": WAKE})
    except Exception:  # it expires from the group anyway
        log.warning("could not leave the KPI group", exc_info=True)


# what _leave sends the hub's own channel so that a receiver that missed its
# cancel sees ``stop``; the hub acts only on "kpis.changed"
WAKE = "kpis.stop"


hub = Hub()
