"""molam_ops.cache.RedisCache: Django's Redis cache, one client per pool."""

from __future__ import annotations

from typing import Any

import pytest

from molam_ops.cache import RedisCache
from tests.helpers import redis_url

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


def test_count_hit_is_one_round_trip_with_an_expiry(redis_client: Any) -> None:
    cache = RedisCache(redis_url(), {"KEY_PREFIX": "h7"})
    sent: list[Any] = []
    client = cache._cache.get_client(write=True)
    pipeline = client.pipeline

    def recording_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = pipeline(*args, **kwargs)
        execute = pipe.execute

        def counted_execute(*a: Any, **kw: Any) -> Any:
            sent.append([c[0][0] for c in pipe.command_stack])
            return execute(*a, **kw)

        pipe.execute = counted_execute
        return pipe

    client.pipeline = recording_pipeline
    assert [cache.count_hit("rl", 120) for _ in range(3)] == [1, 2, 3]
    # one pipeline (one round trip) per hit: SET NX EX, then INCR
    assert [[c.upper() for c in cmds] for cmds in sent] == [["SET", "INCRBY"]] * 3
    ttl = redis_client.ttl(cache.make_key("rl"))
    assert 0 < ttl <= 120
    # Django's own incr reads what count_hit wrote
    assert cache.incr("rl") == 4
