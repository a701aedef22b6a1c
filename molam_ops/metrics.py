"""The seed's Prometheus metrics that the kernel owns (names are the contract).

Gauges that must be true at every scrape (freezes, pending approvals) are
computed from the database by collectors registered by their apps, not kept
as counters that would drift between processes.

Every known label set of the counters and the histogram is exported from the
first scrape, at 0 (:func:`export_known_labels`): an alert on ``increase()``
or a dashboard sees the first failure of an action or a plan, which it would
miss if the series only appeared at 1.

Several processes (gunicorn's workers, a Celery worker's pool) each count
their own share: with ``PROMETHEUS_MULTIPROC_DIR`` set in their environment
before prometheus_client is imported, every process writes its counters and
histograms to files there and a scrape sums them (:func:`multiprocess_registry`).
"""

import itertools
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

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

# What the runner counts a call as (``status`` of ACTION_REQUESTS): the audit
# status of the call's latest row, "replayed" for an idempotent replay,
# "rejected" or "failed" for a refusal (4xx or 5xx), "error" for an exception
# that is not an OpsError.
ACTION_OUTCOMES = (
    "requested",
    "accepted",
    "executed",
    "rejected",
    "failed",
    "replayed",
    "error",
)

# (metric, {label: known values}) declared by the apps (plans: plan types)
_declared: list[tuple[MetricWrapperBase, dict[str, tuple[str, ...]]]] = []


def declare_labels(metric: MetricWrapperBase, **values: Iterable[str]) -> None:
    """Declare the known values of each of ``metric``'s labels: every
    combination is exported at 0 from the first scrape."""
    if sorted(values) != sorted(metric._labelnames):
        raise ValueError(f"{metric._name}: labels are {metric._labelnames}")
    known = {k: tuple(str(x) for x in v) for k, v in values.items()}
    # ready() may run again (tests, autoreload): one declaration per metric
    _declared[:] = [(m, v) for m, v in _declared if m is not metric]
    _declared.append((metric, known))


def export_known_labels() -> None:
    """Create, at 0, every registered action's series (each outcome, and its
    duration histogram) and every declared label set. Runs in the process
    that serves a scrape, before it reads the values: in multi-process mode
    that process writes the zeros to its own file, which the scrape sums like
    any other. Creating a series that exists is a dictionary lookup."""
    from molam_ops.actions.registry import all_actions

    for spec in all_actions():
        ACTION_DURATION.labels(action=spec.name)
        for status in ACTION_OUTCOMES:
            ACTION_REQUESTS.labels(action=spec.name, status=status)
    for metric, values in _declared:
        for combination in itertools.product(*values.values()):
            metric.labels(**dict(zip(values, combination, strict=True)))


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


def register_once(registry: CollectorRegistry, collector: Collector) -> None:
    """Register a scrape-time collector unless its metrics are there already
    (``ready()`` may run again, under autoreload or in tests)."""
    try:
        registry.register(collector)
    except ValueError:
        log.debug("%s already registered", type(collector).__name__)
