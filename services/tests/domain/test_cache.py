"""The poll-list cache: one build per miss however many requests arrive at once (real Redis)."""

import threading
import time

from django.core.cache import cache

from domain import cache as poll_cache
from domain.cache import cached_poll_list, polls_version


def _counting_build(calls: list, seconds: float = 0.0):
    def build():
        calls.append(1)
        time.sleep(seconds)
        return {"built": len(calls)}

    return build


def test_concurrent_misses_build_the_list_once():
    calls: list = []
    build = _counting_build(calls, seconds=0.15)
    results, start = [], threading.Barrier(8)

    def request():
        start.wait()
        results.append(cached_poll_list("single-flight", build, timeout=30))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(calls) == 1
    assert results == [{"built": 1}] * 8


def test_a_failed_build_releases_the_lock_for_the_next_request():
    def broken():
        raise RuntimeError("database went away")

    try:
        cached_poll_list("after-failure", broken, timeout=30)
    except RuntimeError:
        pass
    calls: list = []
    began = time.monotonic()
    assert cached_poll_list("after-failure", _counting_build(calls), timeout=30) == {"built": 1}
    assert time.monotonic() - began < poll_cache.WAIT_FOR_BUILDER_SECONDS, "it did not wait on a stale lock"


def test_a_builder_that_died_holds_waiters_only_for_a_bounded_time():
    cache.add(f"polls:{polls_version()}:orphaned:building", 1, timeout=poll_cache.BUILD_LOCK_SECONDS)
    calls: list = []
    began = time.monotonic()
    assert cached_poll_list("orphaned", _counting_build(calls), timeout=30) == {"built": 1}
    waited = time.monotonic() - began
    assert poll_cache.WAIT_FOR_BUILDER_SECONDS <= waited < poll_cache.WAIT_FOR_BUILDER_SECONDS + 0.5
