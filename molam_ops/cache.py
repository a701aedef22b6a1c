"""Django's Redis cache backend, reusing its ``redis.Redis`` client, and
falling back to a cache of the process's own while Redis does not answer.

The stock ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for
every cache call (its ``__init__`` sets up ~115 response callbacks): about as
much CPU as the Redis round trip itself, paid several times per ops action
(the outbox-relay flag, the rate limit, the KPI cache). A client is a thin,
thread-safe handle on the connection pool, so one per pool is enough.
Use as ``CACHES["default"]["BACKEND"] = "molam_ops.cache.RedisCache"``.

Nothing kept in this cache is the effect of an action (the rate limit's
counters, the KPI summary, the relay's flag, refusal windows), so an outage
of Redis must not fail a request: every call goes to an in-memory cache of
the process instead (:mod:`molam_ops.outages` says when, logs the switch
once and counts each use). That cache is emptied when the process switches
to it, so nothing it kept from an earlier outage is taken for current.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.cache.backends import redis as django_redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from molam_ops.outages import REDIS_DOWN_ERRORS, redis_outage

# The fallback holds every rate-limit counter of a minute (one per caller)
FALLBACK_MAX_ENTRIES = 10_000


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
        # Django's attributes, which django-stubs leaves out
        _cache: RedisCacheClient
        _options: dict[str, Any]

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
        # a pooled connection left over from before a Redis restart fails
        # once ("Connection closed by server"): one immediate retry on a new
        # connection, rather than taking a restarted Redis for a down one
        self._options = {
            "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            **self._options,
        }
        # LocMemCache keeps its data per name, so every thread's instance of
        # this backend shares one fallback
        self._fallback = LocMemCache(
            f"molam-redis-fallback:{server}",
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "KEY_PREFIX": params.get("KEY_PREFIX", ""),
                "VERSION": params.get("VERSION", 1),
                "OPTIONS": {"MAX_ENTRIES": FALLBACK_MAX_ENTRIES},
            },
        )

    def _either(
        self, use: str, redis_call: Callable[[], Any], local_call: Callable[[], Any]
    ) -> Any:
        """``redis_call``, or ``local_call`` on the fallback while Redis is
        down (known down, or failing now)."""
        if redis_outage.skip(use):
            return local_call()
        try:
            result = redis_call()
        except REDIS_DOWN_ERRORS as exc:
            if redis_outage.failed(exc, use):
                self._fallback.clear()
            return local_call()
        redis_outage.answered()
        return result

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return bool(
            self._either(
                "cache",
                lambda: super(RedisCache, self).add(key, value, timeout, version),
                lambda: self._fallback.add(key, value, timeout, version),
            )
        )

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._either(
            "cache",
            lambda: super(RedisCache, self).get(key, default, version),
            lambda: self._fallback.get(key, default, version),
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._either(
            "cache",
            lambda: super(RedisCache, self).set(key, value, timeout, version),
            lambda: self._fallback.set(key, value, timeout, version),
        )

    def touch(
        self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return bool(
            self._either(
                "cache",
                lambda: super(RedisCache, self).touch(key, timeout, version),
                lambda: self._fallback.touch(key, timeout, version),
            )
        )

    def delete(self, key: Any, version: Any = None) -> bool:
        return bool(
            self._either(
                "cache",
                lambda: super(RedisCache, self).delete(key, version),
                lambda: self._fallback.delete(key, version),
            )
        )

    def get_many(self, keys: Any, version: Any = None) -> dict[str, Any]:
        result: dict[str, Any] = self._either(
            "cache",
            lambda: super(RedisCache, self).get_many(keys, version),
            lambda: self._fallback.get_many(keys, version),
        )
        return result

    def has_key(self, key: Any, version: Any = None) -> bool:
        return bool(
            self._either(
                "cache",
                lambda: super(RedisCache, self).has_key(key, version),
                lambda: self._fallback.has_key(key, version),
            )
        )

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        return int(
            self._either(
                "cache",
                lambda: super(RedisCache, self).incr(key, delta, version),
                lambda: self._fallback.incr(key, delta, version),
            )
        )

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        failed: list[Any] = self._either(
            "cache",
            lambda: super(RedisCache, self).set_many(data, timeout, version),
            lambda: self._fallback.set_many(data, timeout, version),
        )
        return failed

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._either(
            "cache",
            lambda: super(RedisCache, self).delete_many(keys, version),
            lambda: self._fallback.delete_many(keys, version),
        )

    def clear(self) -> None:
        self._either(
            "cache",
            lambda: super(RedisCache, self).clear(),
            self._fallback.clear,
        )

    def count_hit(self, key: str, timeout: int) -> int:
        """INCR ``key``, created with ``timeout`` when missing: one round
        trip (``SET NX EX`` and ``INCR`` pipelined), where Django's ``add``
        then ``incr`` cost three (``incr`` is EXISTS + INCRBY). The rate
        limit counts every API request with it; while Redis is down, in this
        process (the same budget, per process)."""

        def on_redis() -> int:
            client = self._cache.get_client(key, write=True)
            name = self.make_and_validate_key(key)
            pipe = client.pipeline(transaction=False)
            pipe.set(name, 0, nx=True, ex=timeout)
            pipe.incr(name)
            return int(pipe.execute()[1])

        def locally() -> int:
            # add, then incr under LocMemCache's lock: exact within a process
            self._fallback.add(key, 0, timeout)
            try:
                return self._fallback.incr(key)
            except ValueError:  # culled between the two calls
                self._fallback.add(key, 1, timeout)
                return 1

        return int(self._either("rate_limit", on_redis, locally))
