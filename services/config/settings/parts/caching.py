"""The shared Redis cache: page lists, API throttle counters, sign-up counters."""

from config.env import env_int, env_str

CACHES = {
    "default": {
        # Swallows Redis outages: reads miss and fall through to the database, writes are dropped.
        "BACKEND": "runtime.resilient_cache.ResilientRedisCache",
        "LOCATION": env_str("CACHE_REDIS_URL"),
        "TIMEOUT": env_int("CACHE_DEFAULT_TIMEOUT", 60),
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}

# How long one poll's detail and results stay cached. A vote in it, a new or closed poll, and its
# opening or closing time invalidate them sooner (domain.cache), so this only bounds what a lost
# invalidation (Redis briefly down) can leave stale.
POLL_CACHE_SECONDS = env_int("POLL_CACHE_SECONDS", 300)
