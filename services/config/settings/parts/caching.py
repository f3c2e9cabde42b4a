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

# How long each process serves a poll list it fetched from Redis without asking Redis again
# (domain.cache): one round trip fewer on most list reads, for at most this much delay before a new
# or closed poll shows in that process's lists. 0 turns the copies off.
POLL_LIST_LOCAL_SECONDS = env_int("POLL_LIST_LOCAL_SECONDS", 1)

# How long an API token and its user stay cached (domain.token_cache). Deleting the token or saving
# its user drops the entry at once; this bounds what a change that sends no signal leaves valid.
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", 60)
