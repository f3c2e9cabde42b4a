"""Cached reads of polls, each stored with the versions it was built under.

Two kinds of version key, bumped after a write commits:
- the poll set's: a poll created or closed. Every cached read is stamped with it.
- each poll's own: a vote in that poll. Only that poll's detail and results are stamped with it.

So a vote leaves every list cached: counts in lists are at most their TTL old
(API_POLL_LIST_CACHE_SECONDS, HOME_CACHE_SECONDS, plus POLL_LIST_LOCAL_SECONDS of a process's own
copy), while one poll's detail and results show the committed counts at once. A read fetches its
versions and its value in one MGET (one Redis round trip) and uses the value only if it was built
under the versions now current. Bumping a version invalidates on every replica without scanning
Redis. While Redis is down reads miss and bumps are lost; the TTLs bound staleness.
"""

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from runtime.metrics import CACHE_READS

T = TypeVar("T")

_POLL_SET_VERSION = "polls:set-version"

# A read many requests want at the same moment (a busy page just expired, or a write just bumped
# its version) is built by one of them while the others wait briefly for its result. Each build
# costs several ms of CPU; a dozen at once is a burst that, on a replica's small CPU quota,
# throttles every request in it.
BUILD_LOCK_SECONDS = 5  # a builder that dies holds the lock no longer than this
WAIT_FOR_BUILDER_SECONDS = 0.5  # then a waiter builds the value itself
_WAIT_STEP_SECONDS = 0.01


def _poll_version(poll_id: int) -> str:
    return f"polls:poll-version:{poll_id}"


def polls_changed() -> None:
    """Invalidate every cached poll read: a poll was created or closed (call after commit)."""
    cache.set(_POLL_SET_VERSION, uuid.uuid4().hex, timeout=None)


def poll_voted(poll_id: int) -> None:
    """Invalidate one poll's cached detail and results (call after the vote has committed)."""
    cache.set(_poll_version(poll_id), uuid.uuid4().hex, timeout=None)


# Each process keeps the lists it served for POLL_LIST_LOCAL_SECONDS, so a busy page costs one
# Redis round trip per process per interval instead of one per request. A new or closed poll
# therefore reaches a process's lists up to that much later (a second by default).
_local_lists: dict[str, tuple[float, object]] = {}  # key -> (until, by time.monotonic(); the value)
_LOCAL_LISTS_MAX = 256


def cached_poll_list(
    key: str, build: Callable[[], T], *, timeout: int, stored_as: Callable[[T], str] | None = None
) -> T:
    """Return build(), cached until the poll set changes or timeout seconds pass (votes don't count),
    and in this process for POLL_LIST_LOCAL_SECONDS more.

    stored_as names the key a fresh result is stored under when it differs from the one asked
    for (a page number out of range that shows the last page), so odd requests cannot fill Redis
    with copies.
    """
    seconds = settings.POLL_LIST_LOCAL_SECONDS
    copy = _local_lists.get(key)
    if copy is not None and copy[0] > time.monotonic():
        CACHE_READS.labels("list", "local").inc()
        return copy[1]
    stored_key = (lambda value: f"polls:list:{stored_as(value)}") if stored_as else None
    value = _cached("list", f"polls:list:{key}", (_POLL_SET_VERSION,), build, timeout=timeout, stored_key=stored_key)
    if seconds > 0:
        if len(_local_lists) >= _LOCAL_LISTS_MAX:  # odd keys (page numbers) cannot grow it without bound
            _local_lists.clear()
        _local_lists[key] = (time.monotonic() + seconds, value)
    return value


def cached_poll_read(poll_id: int, key: str, build: Callable[[], T], *, timeout: int | Callable[[T], int]) -> T:
    """Return build(), cached until this poll gets a vote, the poll set changes or timeout passes.

    timeout may be a function of the built value (a poll that opens or closes sooner).
    """
    versions = (_POLL_SET_VERSION, _poll_version(poll_id))
    return _cached("poll", f"polls:poll:{poll_id}:{key}", versions, build, timeout=timeout)


def _cached(
    kind: str,
    key: str,
    version_keys: tuple[str, ...],
    build: Callable[[], T],
    *,
    timeout: int | Callable[[T], int],
    stored_key: Callable[[T], str] | None = None,
) -> T:
    """The read-through shared by every cached read: one MGET on a hit, one build per miss.

    On a miss one caller builds while concurrent callers for the same key and versions wait for
    its result (at most WAIT_FOR_BUILDER_SECONDS). While Redis is down nobody waits: every caller
    builds.
    """
    found = cache.get_many([*version_keys, key])
    stamp = "-".join(found.get(name) or _new_version(name) for name in version_keys)
    value = _if_current(found.get(key), stamp)
    CACHE_READS.labels(kind, "miss" if value is None else "hit").inc()
    if value is not None:
        return value
    lock = f"{key}:building:{stamp}"
    builder = cache.add(lock, 1, timeout=BUILD_LOCK_SECONDS)
    if not builder:
        value = _result_of_other_builder(key, stamp, lock)
        if value is not None:
            return value
    try:
        value = build()
        seconds = timeout(value) if callable(timeout) else timeout
        cache.set(stored_key(value) if stored_key else key, (stamp, value), timeout=seconds)
    finally:
        if builder:
            cache.delete(lock)
    return value


def _if_current(stored, stamp: str):
    """Return the value of a stored (stamp, value) pair built under these versions, else None."""
    if stored is not None and stored[0] == stamp:
        return stored[1]
    return None


def _new_version(name: str) -> str:
    """Create a version key that is missing (first use, or Redis lost it); another caller may win."""
    version = uuid.uuid4().hex
    if not cache.add(name, version, timeout=None):
        version = cache.get(name) or version
    return version


def _result_of_other_builder(key: str, stamp: str, lock: str):
    """Wait while another caller holds the build lock; return what it cached, or None."""
    deadline = time.monotonic() + WAIT_FOR_BUILDER_SECONDS
    while cache.get(lock) is not None and time.monotonic() < deadline:  # None: done, or Redis down
        time.sleep(_WAIT_STEP_SECONDS)
    return _if_current(cache.get(key), stamp)
