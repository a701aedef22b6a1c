"""molam_ops.cache.RedisCache: Django's Redis cache, one client per pool."""

from __future__ import annotations

from typing import Any

import pytest

from molam_ops.cache import RedisCache
from tests.conftest import redis_url

pytestmark = pytest.mark.redis


def test_behaves_as_the_stock_backend_and_reuses_its_client(redis_client: Any) -> None:
    cache = RedisCache(redis_url(), {"KEY_PREFIX": "h7"})

    assert cache.add("flag", 1, timeout=30) is True
    assert cache.add("flag", 2, timeout=30) is False  # the relay nudge's guard
    assert cache.get("flag") == 1
    assert cache.incr("flag") == 2
    cache.set("summary", {"amount": "1.50"}, timeout=30)
    assert cache.get("summary") == {"amount": "1.50"}
    assert redis_client.ttl(cache.make_key("summary")) > 0
    cache.delete("summary")
    assert cache.get("summary") is None

    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client(write=False) is not None
