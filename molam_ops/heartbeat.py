"""Heartbeat files: what the liveness probes of the worker, beat and the
dispatcher read.

Each long-running process that serves no HTTP moves the modification time of
a file of its own (``HEARTBEAT_DIR/<kind>``) while its main loop turns, every
``HEARTBEAT_INTERVAL`` seconds at most. The probe is a shell ``stat`` of that
file (``deploy/docker/heartbeat-fresh.sh FILE MAX_AGE``): no Python and no
Celery start per probe, no broker round trip.

- **worker**: a step of the worker's blueprint. Its timer entry marks each turn
  of the main loop; a thread writes the file while the loop turns, and also
  while the consumer has no broker connection: a worker waiting for Redis to
  come back is alive, and restarting it would only delay its return (the
  kubelet backs off between restarts).
- **beat**: the scheduler's ``tick`` (:class:`BeatScheduler`); a tick that
  fails to publish (broker down) still returns, so it still beats.
- **dispatcher**: each turn of its loop (``payouts.dispatcher.run_loop``),
  database errors included.

A process that is frozen, deadlocked in its main loop or gone leaves the file
to go stale, and the probe fails.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from celery import bootsteps
from celery.beat import PersistentScheduler
from django.conf import settings

log = logging.getLogger(__name__)


def heartbeat_path(kind: str) -> Path:
    """The file a process of this kind (worker, beat, dispatcher) moves."""
    return Path(settings.HEARTBEAT_DIR) / kind


class Heartbeat:
    """Moves one file's mtime, at most once per ``interval`` seconds."""

    def __init__(self, kind: str, *, interval: float | None = None) -> None:
        self.path = heartbeat_path(kind)
        self.interval = settings.HEARTBEAT_INTERVAL if interval is None else interval
        self._last = float("-inf")

    def beat(self) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
            os.utime(self.path)  # touch() leaves the time alone on some kernels
        except OSError:
            # a full or read-only disk: the probe will say so by failing
            log.warning("heartbeat: cannot write %s", self.path, exc_info=True)
            return
        self._last = now


class WorkerHeartbeat(bootsteps.StartStopStep):
    """The Celery worker's heartbeat (added to the worker blueprint in
    ``molam_ops.celery``). Started before the consumer, whose start only
    returns at shutdown."""

    requires = ("celery.worker.components:Timer",)
    label = "heartbeat file"

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.heartbeat = Heartbeat("worker")
        self.turned = time.monotonic()
        self.done = threading.Event()
        self.entry: Any = None

    def start(self, parent: Any) -> None:
        interval = self.heartbeat.interval
        # a timer entry runs on the main loop's thread when the loop has an
        # event hub (Redis), on the timer's own thread otherwise
        self.entry = parent.timer.call_repeatedly(interval, self._turn)
        thread = threading.Thread(
            target=self._run, args=(parent,), name="heartbeat", daemon=True
        )
        thread.start()

    def stop(self, parent: Any) -> None:
        self.done.set()
        if self.entry is not None:
            parent.timer.cancel(self.entry)

    def _turn(self) -> None:
        self.turned = time.monotonic()

    def _run(self, parent: Any) -> None:
        interval = self.heartbeat.interval
        while not self.done.wait(interval):
            # three missed turns: the main loop is stuck, unless it is
            # waiting for the broker (the consumer then holds no connection)
            loop_alive = time.monotonic() - self.turned < 3 * interval
            consumer = getattr(parent, "consumer", None)
            reconnecting = consumer is not None and consumer.connection is None
            if loop_alive or reconnecting:
                self.heartbeat.beat()


class BeatScheduler(PersistentScheduler):
    """Celery's persistent scheduler (the schedule file in ``MOLAM_VAR_DIR``)
    that beats at each tick; ``CELERY_BEAT_MAX_LOOP_INTERVAL`` bounds the time
    between ticks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heartbeat = Heartbeat("beat")

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = super().tick(*args, **kwargs)
        self.heartbeat.beat()
        return interval
