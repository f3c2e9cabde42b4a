"""A Redis cache that degrades to "always miss" while Redis is unreachable.

The cache only ever saves work: when Redis is down, pages and API reads fall through to
PostgreSQL and keep answering instead of failing with a 500. After an error the cache is skipped
for a moment (runtime.cooldown), so an outage costs one timeout per process, not one per call.
"""

import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from runtime.cooldown import Cooldown

logger = logging.getLogger(__name__)


# Seconds the cache is skipped after a Redis error, before one call tries Redis again.
_cooldown = Cooldown(seconds=2.0)


def _degrade(method_name: str, fallback):
    method = getattr(RedisCache, method_name)

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


class ResilientRedisCache(RedisCache):
    """Django's Redis cache, with connection errors turned into cache misses and no-op writes."""

    get = _degrade("get", _default_of_get)
    get_many = _degrade("get_many", {})
    set = _degrade("set", None)
    set_many = _degrade("set_many", [])
    add = _degrade("add", False)
    delete = _degrade("delete", False)
    delete_many = _degrade("delete_many", None)
    touch = _degrade("touch", False)
    has_key = _degrade("has_key", False)
    incr = _degrade("incr", None)
