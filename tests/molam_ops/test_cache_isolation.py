"""Each test has a cache of its own (tests/conftest.py, ``_own_cache``): what
one test leaves in the cache (a rate-limit count, a cached KPI summary, a
refusal window) is not there for the next, on the file cache and on Redis."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache

from molam_ops.throttling import hit

SEEN: dict[str, str] = {}


def test_a_test_writes_the_cache() -> None:
    cache.set("isolation-probe", "left behind", 300)
    assert hit("isolation-subject", 0.0)[0] == 1
    SEEN["prefix"] = settings.CACHES["default"]["KEY_PREFIX"]


def test_the_next_test_does_not_read_it() -> None:
    if "prefix" not in SEEN:
        pytest.skip("runs after test_a_test_writes_the_cache")
    assert settings.CACHES["default"]["KEY_PREFIX"] != SEEN["prefix"]
    assert cache.get("isolation-probe") is None
    # a fresh count: the previous test's hit is not counted here
    assert hit("isolation-subject", 0.0)[0] == 1
