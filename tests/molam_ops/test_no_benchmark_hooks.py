"""The product carries no benchmark: no floor endpoints, no benchmark app, no
switch in its settings. benchmarks/settings.py adds the floors for the servers
the benchmarks start, and only there."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.test import Client


@pytest.mark.parametrize(
    "path", ["/floor/insert", "/floor/constant", "/bench/insert", "/bench/constant"]
)
def test_no_floor_endpoint_is_served(db: None, path: str) -> None:
    assert Client().get(path).status_code == 404
    assert Client().post(path, {}, content_type="application/json").status_code in (
        404,
        405,
    )


def test_no_benchmark_app_or_switch(settings: Any) -> None:
    labels = {app.name for app in apps.get_app_configs()}
    assert not {n for n in labels if n.split(".")[0] in ("bench", "benchmarks")}
    assert settings.ROOT_URLCONF == "molam_ops.urls"
    for name in ("BENCH_ENDPOINTS", "PLAN_STEP_DELAY_SECONDS"):
        assert not hasattr(settings, name), name
