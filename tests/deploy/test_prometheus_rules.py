"""deploy/prometheus/alerts.yaml and deploy/grafana/ops-controls.json:
every PromQL expression parsed by a real parser and allowed to name only the
metrics (and labels) this service exports — the seed's five ``molam_ops_*``,
ours, django-prometheus's and Prometheus' own ``up`` — then the rules checked
and unit tested by promtool (CI installs it: a missing promtool fails there,
and only skips on a machine without it). No database."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

import molam_ops.metrics  # noqa: F401  (registers the kernel's metrics)

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
ALERT_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "ops-controls.json"

# The seed's contract: exactly these names and labels (issue 6, point 3).
CONTRACT: dict[str, tuple[str, set[str]]] = {
    "molam_ops_action_requests_total": ("counter", {"action", "status"}),
    "molam_ops_action_duration_seconds": ("histogram", {"action"}),
    "molam_ops_freeze_active": ("gauge", {"scope"}),
    "molam_ops_plan_executions_total": ("counter", {"plan_type", "status"}),
    "molam_ops_multi_sig_pending_count": ("gauge", set()),
}
# Ours beyond the seed's five: named and labelled here so they stay deliberate.
EXTRA: dict[str, tuple[str, set[str]]] = {
    "molam_ops_rate_limited_total": ("counter", {"layer"}),
    "molam_ops_redis_up": ("gauge", set()),
    "molam_ops_outbox_backlog": ("gauge", set()),
    "molam_ops_outbox_oldest_unsent_age_seconds": ("gauge", set()),
    "molam_ops_bank_circuit_open": ("gauge", {"bank", "bank_name"}),
    "molam_ops_bank_paused": ("gauge", {"bank", "bank_name"}),
    "molam_ops_dispatch_backlog": ("gauge", set()),
    "molam_ops_dispatch_oldest_wait_seconds": ("gauge", set()),
    "molam_ops_settlement_unbooked_total": ("counter", {"currency"}),
    "molam_ops_treasury_accounts_missing": ("gauge", {"currency"}),
    "molam_ops_dependency_fallback_total": ("counter", {"dependency", "use"}),
    "molam_ops_dependency_degraded": ("gauge", {"dependency"}),
    "molam_ops_audit_consistency_failures_total": ("counter", set()),
    "molam_ops_audit_unsigned_age_seconds": ("gauge", set()),
    "molam_ops_audit_partition_headroom_ratio": ("gauge", set()),
}
TARGET_LABELS = {"job", "instance"}  # added by Prometheus at scrape
# series Prometheus makes itself for every target
SCRAPE_SERIES = {"up": TARGET_LABELS}
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"


def series(name: str, kind: str, labels: set[str]) -> dict[str, set[str]]:
    """The series names a metric exports, each with its labels."""
    if kind == "counter":
        base = name.removesuffix("_total")
        return {f"{base}_total": labels}
    if kind == "histogram":
        return {
            f"{name}_bucket": labels | {"le"},
            f"{name}_sum": labels,
            f"{name}_count": labels,
        }
    return {name: labels}


def django_prometheus_metrics() -> Iterator[MetricWrapperBase]:
    from django_prometheus.db import metrics as db_metrics
    from django_prometheus.middleware import Metrics

    for value in [*vars(db_metrics).values(), *vars(Metrics.get_instance()).values()]:
        if isinstance(value, MetricWrapperBase):
            yield value


def known_series() -> dict[str, set[str]]:
    known: dict[str, set[str]] = {}
    for name, (kind, labels) in {**CONTRACT, **EXTRA}.items():
        known |= series(name, kind, labels)
    for metric in django_prometheus_metrics():
        # prometheus_client keeps a metric's name, type and labels here
        known |= series(metric._name, metric._type, set(metric._labelnames))
    return known | SCRAPE_SERIES


def references(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) an expression uses; raises on bad PromQL."""
    names: set[str] = set()
    labels: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name)
            labels.update(m.name for m in node.matchers.matchers)
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier:
            labels.update(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier:
            if node.modifier.matching:
                labels.update(node.modifier.matching.labels)
            labels.update(node.modifier.group_labels or [])

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names, labels - {"__name__"}


def unknown_references(expr: str) -> list[str]:
    known = known_series()
    names, labels = references(expr)
    problems = [f"unknown metric {n}" for n in sorted(names - set(known))]
    allowed = TARGET_LABELS.union(*(known.get(n, set()) for n in names))
    problems += [
        f"label {lbl} not on {sorted(names)}" for lbl in sorted(labels - allowed)
    ]
    return problems


def grafana_expr(expr: str) -> str:
    """A panel query as Prometheus sees it: Grafana's range variables filled."""
    return re.sub(r"\$__(rate_interval|interval|range)\b", "5m", expr)


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_targets() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], grafana_expr(target["expr"]))
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing (Debian package prometheus)")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


# --- the catalogue itself ------------------------------------------------------


def test_the_kernel_defines_the_contract_names_and_labels():
    """Metrics already defined in code carry exactly the contract's labels."""
    defined = {
        collector._name: (collector._type, set(collector._labelnames))
        for collector in REGISTRY._collector_to_names
        if isinstance(collector, MetricWrapperBase)
        and collector._name.startswith("molam_ops_")
    }
    assert "molam_ops_action_requests" in defined  # prometheus_client drops _total
    for name, (kind, labels) in defined.items():
        every = {**CONTRACT, **EXTRA}
        contract = every.get(name) or every[f"{name}_total"]
        assert (kind, labels) == contract, name


def scrape_time_collectors() -> Iterator[Any]:
    """Every collector that /metrics of the web or the worker installs."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    from molam_ops.collectors import install_worker

    registry = CollectorRegistry()
    for path in settings.METRICS_SCRAPE_COLLECTORS:
        import_string(path)(registry)
    install_worker(registry)
    yield from registry._collector_to_names


def test_the_scrape_time_gauges_are_in_the_catalogue():
    """The database-computed and Redis gauges carry the names and labels
    that the alerts and the dashboard are checked against."""
    described = {
        family.name: (family.type, {*getattr(family, "_labelnames", ())})
        for collector in scrape_time_collectors()
        for family in collector.describe()
    }
    every = {**CONTRACT, **EXTRA}
    assert described == {name: every[name] for name in described}, (
        "a scrape-time gauge is missing from CONTRACT/EXTRA or differs"
    )
    kept = {"molam_ops_dependency_degraded"}  # set by each process, not at scrape
    scraped = {n for n, (k, _) in EXTRA.items() if k == "gauge"} - kept
    assert set(described) >= scraped


def test_references_catch_unknown_metrics_and_labels():
    assert (
        unknown_references(
            "sum by (action) (rate(molam_ops_action_requests_total[5m]))"
        )
        == []
    )
    assert unknown_references("rate(molam_ops_actions_total[5m])") == [
        "unknown metric molam_ops_actions_total"
    ]
    assert unknown_references('max by (bank) (molam_ops_freeze_active{job="x"})') == [
        "label bank not on ['molam_ops_freeze_active']"
    ]
    with pytest.raises(ValueError):
        references("sum by (action) (rate(molam_ops_action_requests_total[5m])")


# --- alert rules --------------------------------------------------------------


def test_alert_rules_name_only_exported_metrics():
    rules = alert_rules()
    assert rules
    for rule in rules:
        assert unknown_references(rule["expr"]) == [], rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_the_seed_alerts_are_there():
    by_metric = {}
    for rule in alert_rules():
        for name in references(rule["expr"])[0]:
            by_metric.setdefault(name, []).append(rule)
    (freeze,) = by_metric["molam_ops_freeze_active"]
    assert re.fullmatch(
        r"max( by \(scope\))? \(molam_ops_freeze_active\) > 0", freeze["expr"]
    )
    assert freeze["for"] == "1h"
    (multi_sig,) = by_metric["molam_ops_multi_sig_pending_count"]
    assert multi_sig["expr"].endswith("(molam_ops_multi_sig_pending_count) > 10")
    five_xx = by_metric["django_http_responses_total_by_status_view_method_total"]
    assert any('status=~"5.."' in rule["expr"] for rule in five_xx)
    assert any(
        "histogram_quantile" in rule["expr"]
        for rule in by_metric["molam_ops_action_duration_seconds_bucket"]
    )


def test_promtool_checks_the_rules():
    result = run(promtool(), "check", "rules", str(ALERTS), cwd=ALERTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_promtool_unit_tests_of_the_alerts():
    """alerts.test.yaml: each alert silent where it must be and firing, with
    its labels and annotations, where it must."""
    result = run(promtool(), "test", "rules", ALERT_TESTS.name, cwd=ALERT_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_that_fires_it():
    fired = {
        case["alertname"]
        for test in yaml.safe_load(ALERT_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert {rule["alert"] for rule in alert_rules()} == fired


OPERATIONS_ALERTS = {
    # alert: (the metric it reads, severity, at least this long)
    "OpsTargetDown": ("up", "critical"),
    "OpsTargetAbsent": ("up", "critical"),
    "OpsCircuitBreakerOpen": ("molam_ops_bank_circuit_open", "warning"),
    "OpsBankPausedOverOneHour": ("molam_ops_bank_paused", "warning"),
    "OpsDispatcherStalled": ("molam_ops_dispatch_oldest_wait_seconds", "critical"),
    "OpsRedisDegraded": ("molam_ops_redis_up", "critical"),
    "OpsOutboxRelayLagging": (
        "molam_ops_outbox_oldest_unsent_age_seconds",
        "warning",
    ),
    "OpsOutboxBacklog": ("molam_ops_outbox_backlog", "warning"),
}


def test_the_operations_alerts_are_there():
    rules = {rule["alert"]: rule for rule in alert_rules()}
    for alert, (metric, severity) in OPERATIONS_ALERTS.items():
        rule = rules[alert]
        assert metric in references(rule["expr"])[0], alert
        assert rule["labels"]["severity"] == severity, alert
        assert "docs/runbook.md" in rule["annotations"]["description"], alert
    assert rules["OpsBankPausedOverOneHour"]["for"] == "1h"
    assert rules["OpsCircuitBreakerOpen"]["for"] == "5m"
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    for alert in rules:
        assert f"`{alert}`" in runbook, f"docs/runbook.md does not explain {alert}"


def test_the_target_alerts_watch_the_jobs_the_scrape_config_makes():
    """prometheus.yml names each scraped pod's job ops-controls-<component>;
    the pods it keeps are those annotated for scraping (deploy/k8s)."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert config["rule_files"] == [ALERTS.name]
    (job,) = config["scrape_configs"]
    relabel = {
        r.get("target_label", r.get("action")): r for r in job["relabel_configs"]
    }
    component = "__meta_kubernetes_pod_label_app_kubernetes_io_component"
    assert relabel["job"]["source_labels"] == [component]
    assert relabel["job"]["replacement"] == "ops-controls-$1"
    assert relabel["keep"]["regex"] == "ops-controls;true"
    deployments = [
        doc
        for doc in yaml.safe_load_all(
            (ROOT / "deploy" / "k8s" / "deployment.yaml").read_text()
        )
        if doc
    ]
    scraped = {
        "ops-controls-"
        + d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        for d in deployments
        if d["spec"]["template"]["metadata"]
        .get("annotations", {})
        .get("prometheus.io/scrape")
        == "true"
    }
    assert scraped == {"ops-controls-web", "ops-controls-worker"}
    (absent,) = [r for r in alert_rules() if r["alert"] == "OpsTargetAbsent"]
    assert set(re.findall(r'absent\(up\{job="([\w-]+)"\}\)', absent["expr"])) == scraped


def test_promtool_checks_the_scrape_config(tmp_path):
    """Debian's promtool is built without Kubernetes discovery: the config is
    checked with static targets in its place (relabelling, rule files)."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    for job in config["scrape_configs"]:
        job.pop("kubernetes_sd_configs")
        job["static_configs"] = [{"targets": ["10.0.0.1:8084"]}]
    (tmp_path / PROMETHEUS_CONFIG.name).write_text(yaml.safe_dump(config))
    (tmp_path / ALERTS.name).write_text(ALERTS.read_text())
    result = run(promtool(), "check", "config", PROMETHEUS_CONFIG.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the Grafana dashboard ----------------------------------------------------


def test_dashboard_is_the_ops_controls_overview():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] == "Ops Controls Overview"
    assert dashboard["uid"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]


def test_dashboard_queries_name_only_exported_metrics():
    for title, expr in dashboard_targets():
        assert unknown_references(expr) == [], title


def test_dashboard_covers_the_contract_and_django_prometheus():
    used = set().union(*(references(expr)[0] for _, expr in dashboard_targets()))
    for name, (kind, labels) in CONTRACT.items():
        assert used & set(series(name, kind, labels)), name
    assert {
        "django_http_requests_total_by_view_transport_method_total",
        "django_http_requests_latency_seconds_by_view_method_bucket",
    } <= used
    assert any(name.startswith("django_db_") for name in used)


def test_promtool_parses_every_dashboard_query(tmp_path):
    """promtool has no expression checker: each query becomes a recording
    rule, which ``check rules`` parses with Prometheus' own parser."""
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:panel_{i}", "expr": expr}
                    for i, (_, expr) in enumerate(dashboard_targets())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    result = run(promtool(), "check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
