"""The seed's Prometheus metrics that the kernel owns (names are the contract).

Gauges that must be true at every scrape (freezes, pending approvals) are
computed from the database by collectors registered by their apps, not kept
as counters that would drift between processes.
"""

from prometheus_client import Counter, Histogram

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
