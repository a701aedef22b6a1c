"""gunicorn's configuration for the web process: docker-compose.yml and
deploy/k8s name it with ``-c``, the benchmarks too, and gunicorn reads
``./gunicorn.conf.py`` by default, so the image's CMD (run from /app) uses it.
The command lines keep the worker class, the worker count and the bind.

What it adds is the life cycle of Prometheus' multi-process mode: every
worker writes its counters and histograms to files in
``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` sums them
(molam_ops/metrics_view.py). So the directory

- is set in the master's environment before any worker starts (workers
  inherit it; prometheus_client reads it when first imported). Left unset,
  each worker would answer ``/metrics`` with its own share only, so a private
  temporary directory is used, and removed when the server exits;
- is emptied when the server starts: files of an earlier run would be summed
  into this one's, and a reused pid would carry their counts on;
- hears of every worker that exits (``child_exit``), so that its live gauges
  go (its counters stay: a total must not drop when a worker is recycled).

It also sets ``forwarded_allow_ips`` from ``TRUSTED_PROXIES``: the uvicorn
worker (uvicorn_worker 0.4) builds its ``uvicorn.Config`` with
``forwarded_allow_ips=cfg.forwarded_allow_ips``, and uvicorn's
``ProxyHeadersMiddleware`` then rewrites the client address and scheme from
``X-Forwarded-For`` / ``-Proto`` of those peers only, before Django runs.
gunicorn's own default (``$FORWARDED_ALLOW_IPS``, else ``127.0.0.1,::1``)
would believe any process on the host; empty here means nobody.

And it bounds the request head (``post_fork``): each worker's uvicorn parses
HTTP with h11, refusing a head over ``HTTP_MAX_HEAD_BYTES`` before reading
the rest (molam_ops/lib/serving.py). The worker class (``-k``) stays on the
command lines; uvicorn_worker builds its ``Config`` in the master and loads it
only when the forked worker starts serving, so the hook sets it in between.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

_private_dir: str | None = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _private_dir = tempfile.mkdtemp(prefix="molam-prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _private_dir


# this file's directory is the project's, wherever gunicorn runs from
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _from_environment() -> tuple[str, dict[str, Any]]:
    from molam_ops.lib.addresses import forwarded_allow_ips
    from molam_ops.lib.serving import uvicorn_options

    try:
        return forwarded_allow_ips(os.environ), uvicorn_options(os.environ)
    except ValueError as exc:
        # one line naming the variable, as the app's own settings say it
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(1) from None


forwarded_allow_ips, _uvicorn_options = _from_environment()


def post_fork(server: Any, worker: Any) -> None:
    config = getattr(worker, "config", None)
    if config is None:
        return  # not a uvicorn worker: nothing of uvicorn to configure
    for name, value in _uvicorn_options.items():
        setattr(config, name, value)


def on_starting(server: Any) -> None:
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    # the directory itself stays: in containers it is a mount point
    for entry in directory.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def child_exit(server: Any, worker: Any) -> None:
    # imported here, in the master only: nothing of prometheus_client is
    # loaded before the environment above is in place
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _private_dir:
        shutil.rmtree(_private_dir, ignore_errors=True)
