"""The cooldown that keeps Redis outages cheap, and the cache that uses it."""

import socket
import time

import pytest
from django.core.cache import caches
from django.test import override_settings

from runtime import resilient_cache
from runtime.cooldown import Cooldown


def test_the_cooldown_starts_on_failure_and_ends_after_its_seconds():
    cooldown = Cooldown(seconds=0.2)
    assert not cooldown.active
    cooldown.start()
    assert cooldown.active
    time.sleep(0.25)
    assert not cooldown.active


@pytest.fixture
def silent_redis():
    """A loopback port that accepts connections and never answers: a hung Redis."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


def test_a_hung_redis_costs_one_timeout_then_the_cache_is_skipped(silent_redis, monkeypatch):
    """Without the cooldown, ten calls would wait ten socket timeouts (5 s); with it, about one."""
    monkeypatch.setattr(resilient_cache, "_cooldown", Cooldown(seconds=60))
    settings = {
        "BACKEND": "runtime.resilient_cache.ResilientRedisCache",
        "LOCATION": silent_redis,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    with override_settings(CACHES={"default": settings, "hung": settings}):
        cache = caches["hung"]
        started = time.monotonic()
        results = [cache.get("key", "miss") for _ in range(10)]
        elapsed = time.monotonic() - started

    assert results == ["miss"] * 10
    assert resilient_cache._cooldown.active
    assert elapsed < 2.5, f"{elapsed:.1f}s: calls kept waiting on the hung Redis"
