"""Django's Redis cache backend, reusing its ``redis.Redis`` client.

The stock ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for
every cache call (its ``__init__`` sets up ~115 response callbacks): about as
much CPU as the Redis round trip itself, paid several times per ops action
(the outbox-relay flag, the rate limit, the KPI cache). A client is a thin,
thread-safe handle on the connection pool, so one per pool is enough.
Use as ``CACHES["default"]["BACKEND"] = "molam_ops.cache.RedisCache"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.cache.backends import redis as django_redis
from redis import ConnectionPool, Redis


class RedisCacheClient(django_redis.RedisCacheClient):
    if TYPE_CHECKING:
        # Django's private helpers reused below, which django-stubs leaves out
        _client: Callable[..., Redis]

        def _get_connection_pool_index(self, write: bool) -> int: ...
        def _get_connection_pool(self, write: bool) -> ConnectionPool: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Redis:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._client(connection_pool=self._get_connection_pool(write))
            self._clients[index] = client
        return client


class RedisCache(django_redis.RedisCache):
    if TYPE_CHECKING:
        # a cached_property of Django's, which django-stubs leaves out
        _cache: RedisCacheClient

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def count_hit(self, key: str, timeout: int) -> int:
        """INCR ``key``, created with ``timeout`` when missing: one round
        trip (``SET NX EX`` and ``INCR`` pipelined), where Django's ``add``
        then ``incr`` cost three (``incr`` is EXISTS + INCRBY). The rate
        limit counts every API request with it."""
        client = self._cache.get_client(key, write=True)
        name = self.make_and_validate_key(key)
        pipe = client.pipeline(transaction=False)
        pipe.set(name, 0, nx=True, ex=timeout)
        pipe.incr(name)
        return int(pipe.execute()[1])
