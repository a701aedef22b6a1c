"""Each test has a cache of its own (tests/conftest.py, ``_own_cache``): what
one test leaves in the cache (a rate-limit count, a cached KPI summary, a
refusal window) is not there for the next, on the file cache and on Redis."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from molam_ops.throttling import hit
from tests.helpers import own_cache


def test_what_one_test_leaves_the_next_does_not_read(settings: Any) -> None:
    cache.set("isolation-probe", "left behind", 300)
    assert hit("isolation-subject", 0.0)[0] == 1
    assert cache.get("isolation-probe") == "left behind"

    own_cache(settings)  # what the autouse fixture does before the next test

    assert cache.get("isolation-probe") is None
    # a fresh count: the previous test's hit is not counted here
    assert hit("isolation-subject", 0.0)[0] == 1
