"""A Redis cache that degrades to "always miss" while Redis is unreachable.

The cache only ever saves work: when Redis is down, pages and API reads fall through to
PostgreSQL and keep answering instead of failing with a 500. After an error the cache is skipped
for a moment (runtime.cooldown), so an outage costs one timeout per process, not one per call.
"""

import logging

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

from runtime.cooldown import Cooldown

logger = logging.getLogger(__name__)


# Seconds the cache is skipped after a Redis error, before one call tries Redis again.
_cooldown = Cooldown(seconds=2.0)


def _degrade(method, fallback):
    method_name = method.__name__.lstrip("_")

    def wrapper(self, *args, **kwargs):
        if not _cooldown.active:
            try:
                return method(self, *args, **kwargs)
            except RedisError as exc:
                _cooldown.start()
                logger.warning("cache %s failed, skipping Redis for a while: %s", method_name, exc)
        return fallback(*args, **kwargs) if callable(fallback) else fallback

    wrapper.__name__ = method_name
    wrapper.__doc__ = method.__doc__
    return wrapper


def _default_of_get(key, default=None, *args, **kwargs):
    return default


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one redis.Redis per connection pool.

    Django builds a new redis.Redis for every cache call, and its constructor copies redis-py's
    table of response callbacks: about 0.3 ms of CPU per call, a fifth of a cached API read
    (cProfile, docs/performance.md). A redis.Redis over a connection pool is thread-safe, so one
    per pool serves every thread of the process.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:  # two threads may both build one; either serves
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def count_in_window(self, key: str, window_seconds: int, amount: int = 1) -> int:
        """Add `amount` to the counter KEY, which expires window_seconds after its first count;
        return it. One round trip (INCRBY and EXPIRE NX in a pipeline), whatever the count.
        """
        pipeline = self.get_client(key, write=True).pipeline(transaction=False)
        pipeline.incrby(key, amount)
        pipeline.expire(key, window_seconds, nx=True)
        count, _ = pipeline.execute()
        return count


def _count_in_window(self, key: str, window_seconds: int, amount: int = 1, version=None) -> int:
    key = self.make_and_validate_key(key, version=version)
    return self._cache.count_in_window(key, window_seconds, amount)


class ResilientRedisCache(RedisCache):
    """Django's Redis cache, with connection errors turned into cache misses and no-op writes."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient

    # Counters for rate limits (runtime.drf_throttles): None while Redis is unreachable.
    count_in_window = _degrade(_count_in_window, None)

    get = _degrade(RedisCache.get, _default_of_get)
    get_many = _degrade(RedisCache.get_many, {})
    set = _degrade(RedisCache.set, None)
    set_many = _degrade(RedisCache.set_many, [])
    add = _degrade(RedisCache.add, False)
    delete = _degrade(RedisCache.delete, False)
    delete_many = _degrade(RedisCache.delete_many, None)
    touch = _degrade(RedisCache.touch, False)
    has_key = _degrade(RedisCache.has_key, False)
    incr = _degrade(RedisCache.incr, None)
