"""The seed's Prometheus metrics that the kernel owns (names are the contract).

Gauges that must be true at every scrape (freezes, pending approvals) are
computed from the database by collectors registered by their apps, not kept
as counters that would drift between processes.

Several processes (gunicorn's workers, a Celery worker's pool) each count
their own share: with ``PROMETHEUS_MULTIPROC_DIR`` set in their environment
before prometheus_client is imported, every process writes its counters and
histograms to files there and a scrape sums them (:func:`multiprocess_registry`).
"""

import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

ACTION_REQUESTS = Counter(
    "molam_ops_action_requests_total",
    "Ops action calls by action and outcome status.",
    ["action", "status"],
)
PLAN_EXECUTIONS = Counter(
    "molam_ops_plan_executions_total",
    "Plans reaching executed, failed or cancelled, by plan type.",
    ["plan_type", "status"],
)
ACTION_DURATION = Histogram(
    "molam_ops_action_duration_seconds",
    "Time spent in the ops-action runner.",
    ["action"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def multiprocess_dir() -> str | None:
    """The directory every process of this server writes its values to, if any."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def multiprocess_registry() -> CollectorRegistry:
    """A registry that reads, at each scrape, the files of every process that
    wrote to ``PROMETHEUS_MULTIPROC_DIR`` (live or exited: a counter must not
    drop when a worker is recycled) and sums counters and histograms."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def clear_multiprocess_dir(path: str | Path, *, keep_pid: int | None = None) -> int:
    """Delete the value files of earlier runs (their counts would be summed
    into this one's, and a reused pid would carry them on); returns how many.
    The directory itself stays: it is often a mount point. ``keep_pid``: a
    process that may already hold its own files open (mmap) keeps them."""
    removed = 0
    for file in Path(path).glob("*.db"):
        # files are <type>[_<gauge mode>]_<pid>.db
        if keep_pid is not None and file.stem.rsplit("_", 1)[-1] == str(keep_pid):
            continue
        file.unlink(missing_ok=True)
        removed += 1
    return removed
