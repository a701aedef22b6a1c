"""The Celery worker's metrics (imported by the worker through ``CELERY_IMPORTS``).

Tasks run in the pool's child processes, which the main process forks and
replaces; each child writes its counters (plan executions, the actions that
plan steps run) to ``PROMETHEUS_MULTIPROC_DIR``. With ``WORKER_METRICS_PORT``
set, the main process owns that directory: it clears what an earlier run left
there, then serves the children's values summed on ``:<port>/metrics``. In
Kubernetes the worker is a pod of its own, so it cannot share the web pods'
directory; Prometheus scrapes each pod (README "Metrics").

Without the port (``make run``), the worker shares the web process's
directory, which ``scripts/run_local.py`` clears before starting both.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import worker_init, worker_process_shutdown
from django.conf import settings
from prometheus_client import start_http_server
from prometheus_client.multiprocess import mark_process_dead

from molam_ops.collectors import install_worker
from molam_ops.metrics import (
    clear_multiprocess_dir,
    export_known_labels,
    multiprocess_dir,
    multiprocess_registry,
)

log = logging.getLogger(__name__)


@worker_init.connect
def serve_worker_metrics(**_kwargs: Any) -> None:
    """Runs in the worker's main process, before the pool forks."""
    port = settings.WORKER_METRICS_PORT
    directory = multiprocess_dir()
    if not port or not directory:  # settings refuse a port without a directory
        return
    removed = clear_multiprocess_dir(directory, keep_pid=os.getpid())
    # the pool's counters at 0 from the first scrape, written by this process
    export_known_labels()
    registry = multiprocess_registry()
    install_worker(registry)  # Redis as this worker sees it
    start_http_server(port, addr=settings.WORKER_METRICS_ADDRESS, registry=registry)
    log.info(
        "worker metrics on %s:%s/metrics (%d stale files cleared)",
        settings.WORKER_METRICS_ADDRESS,
        port,
        removed,
    )


@worker_process_shutdown.connect
def forget_exited_child(pid: int | None = None, **_kwargs: Any) -> None:
    """A child's live gauges go with it; its counters stay in the sum."""
    if multiprocess_dir() and pid:
        mark_process_dead(pid)
