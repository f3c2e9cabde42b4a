"""The poll caches (real Redis): one build per miss however many requests arrive at once, and
which writes invalidate what."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from prometheus_client import REGISTRY

from domain import cache as poll_cache
from domain.cache import cached_poll_list, cached_poll_read, poll_voted, polls_changed
from domain.errors import NotFound
from domain.selectors import poll_cached
from tests.factories import PollFactory


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
    polls_changed()
    version = cache.get(poll_cache._POLL_SET_VERSION)
    cache.add(f"polls:list:orphaned:building:{version}", 1, timeout=poll_cache.BUILD_LOCK_SECONDS)
    calls: list = []
    began = time.monotonic()
    assert cached_poll_list("orphaned", _counting_build(calls), timeout=30) == {"built": 1}
    waited = time.monotonic() - began
    assert poll_cache.WAIT_FOR_BUILDER_SECONDS <= waited < poll_cache.WAIT_FOR_BUILDER_SECONDS + 0.5


def test_a_vote_invalidates_its_poll_reads_and_no_list():
    calls: list = []
    build = _counting_build(calls)
    cached_poll_list("page", build, timeout=30)
    cached_poll_read(1, "detail", build, timeout=30)
    cached_poll_read(2, "detail", build, timeout=30)

    poll_voted(1)

    assert cached_poll_list("page", build, timeout=30) == {"built": 1}, "lists keep counts until their TTL"
    assert cached_poll_read(2, "detail", build, timeout=30) == {"built": 3}, "another poll's read is kept"
    assert cached_poll_read(1, "detail", build, timeout=30) == {"built": 4}, "rebuilt after the vote"


def _reads(kind: str, result: str) -> float:
    return REGISTRY.get_sample_value("polls_cache_reads_total", {"kind": kind, "result": result}) or 0


def test_hits_and_misses_are_counted_for_the_metrics():
    before = {(kind, result): _reads(kind, result) for kind in ("list", "poll") for result in ("hit", "miss")}
    build = _counting_build([])
    for _ in range(3):
        cached_poll_list("counted", build, timeout=30)
    cached_poll_read(3, "counted", build, timeout=30)

    after = {key: _reads(*key) - value for key, value in before.items()}
    assert after == {("list", "hit"): 2, ("list", "miss"): 1, ("poll", "hit"): 0, ("poll", "miss"): 1}


def test_a_new_or_closed_poll_invalidates_every_read():
    calls: list = []
    build = _counting_build(calls)
    cached_poll_list("page", build, timeout=30)
    cached_poll_read(1, "detail", build, timeout=30)

    polls_changed()

    assert cached_poll_list("page", build, timeout=30) == {"built": 3}
    assert cached_poll_read(1, "detail", build, timeout=30) == {"built": 4}


def test_a_value_built_while_a_write_committed_is_not_served():
    """The read saw the data before the vote; the vote bumped the version during the build."""
    calls: list = []

    def build_racing_a_vote():
        calls.append(1)
        if len(calls) == 1:
            poll_voted(7)
        return len(calls)

    assert cached_poll_read(7, "results", build_racing_a_vote, timeout=30) == 1
    assert cached_poll_read(7, "results", build_racing_a_vote, timeout=30) == 2, "stored under the old version"
    assert cached_poll_read(7, "results", build_racing_a_vote, timeout=30) == 2


def _ttl(key: str) -> int:
    return cache._cache.get_client().ttl(cache.make_and_validate_key(key))


@pytest.mark.django_db
def test_a_poll_read_expires_when_the_poll_closes():
    soon = PollFactory(closes_at=timezone.now() + timedelta(seconds=5))
    later = PollFactory(closes_at=timezone.now() + timedelta(days=2))
    for poll in (soon, later):
        assert poll_cached(poll_id=poll.pk, view="question", render=lambda poll, now: poll.question) == poll.question

    assert 0 < _ttl(f"polls:poll:{soon.pk}:question") <= 5
    assert _ttl(f"polls:poll:{later.pk}:question") > 5


@pytest.mark.django_db
def test_an_unknown_poll_is_not_found_and_not_cached():
    with pytest.raises(NotFound):
        poll_cached(poll_id=999_999, view="question", render=lambda poll, now: poll.question)
    assert cache.get("polls:poll:999999:question") is None


def test_a_process_serves_a_list_it_just_fetched_without_asking_redis(settings, monkeypatch):
    """Within POLL_LIST_LOCAL_SECONDS a list comes from the process's copy: no Redis round trip, and
    a new poll shows once the copy has expired."""
    settings.POLL_LIST_LOCAL_SECONDS = 1
    monkeypatch.setattr(poll_cache, "_local_lists", {})
    now = [1000.0]
    monkeypatch.setattr(poll_cache.time, "monotonic", lambda: now[0])
    calls: list = []
    build = _counting_build(calls)
    assert cached_poll_list("local", build, timeout=30) == {"built": 1}
    local_before = _reads("list", "local")

    polls_changed()
    monkeypatch.setattr(cache, "get_many", lambda *args, **kwargs: pytest.fail("asked Redis"))
    assert cached_poll_list("local", build, timeout=30) == {"built": 1}, "the copy, a new poll not yet shown"
    assert _reads("list", "local") == local_before + 1

    monkeypatch.undo()  # Redis again, and the real clock: the copy has expired
    monkeypatch.setattr(poll_cache, "_local_lists", {"local": (0.0, {"built": 1})})
    assert cached_poll_list("local", build, timeout=30) == {"built": 2}
