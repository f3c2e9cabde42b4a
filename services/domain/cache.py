"""Versioned cache keys for lists that change whenever a poll or a vote does.

Bumping one version key invalidates every cached page at once, on every replica, without
scanning Redis. While Redis is down reads miss and bumps are lost; the short TTL bounds staleness.
"""

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")

_VERSION_KEY = "polls:version"

# A list many requests want at the same moment (a busy page just expired, or a vote just bumped
# the version) is built by one of them while the others wait briefly for its result. Each build
# costs several ms of CPU; a dozen at once is a burst that, on a replica's small CPU quota,
# throttles every request in it.
BUILD_LOCK_SECONDS = 5  # a builder that dies holds the lock no longer than this
WAIT_FOR_BUILDER_SECONDS = 0.5  # then a waiter builds the list itself
_WAIT_STEP_SECONDS = 0.01


def polls_version() -> str:
    """Return the current version of poll lists, creating one if none is cached."""
    version = cache.get(_VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(_VERSION_KEY, version, timeout=None):  # another request created one first
            version = cache.get(_VERSION_KEY) or version
    return version


def polls_changed() -> None:
    """Invalidate every cached poll list (call after the change has committed)."""
    cache.set(_VERSION_KEY, uuid.uuid4().hex, timeout=None)


def cached_poll_list(
    key: str, build: Callable[[], T], *, timeout: int, stored_as: Callable[[T], str] | None = None
) -> T:
    """Return build(), cached under the current polls version: any poll or vote change misses.

    On a miss one caller builds while concurrent callers for the same key wait for its result
    (at most WAIT_FOR_BUILDER_SECONDS). While Redis is down nobody waits: every caller builds.
    stored_as names the key a fresh result is stored under when it differs from the one asked
    for (a page number out of range that shows the last page), so odd requests cannot fill Redis
    with copies.
    """
    version = polls_version()
    cache_key = f"polls:{version}:{key}"
    value = cache.get(cache_key)
    if value is not None:
        return value
    lock = f"{cache_key}:building"
    builder = cache.add(lock, 1, timeout=BUILD_LOCK_SECONDS)
    if not builder:
        value = _result_of_other_builder(cache_key, lock)
        if value is not None:
            return value
    try:
        value = build()
        cache.set(f"polls:{version}:{stored_as(value) if stored_as else key}", value, timeout=timeout)
    finally:
        if builder:
            cache.delete(lock)
    return value


def _result_of_other_builder(cache_key: str, lock: str):
    """Wait while another caller holds the build lock; return what it cached, or None."""
    deadline = time.monotonic() + WAIT_FOR_BUILDER_SECONDS
    while cache.get(lock) is not None and time.monotonic() < deadline:  # None: done, or Redis down
        time.sleep(_WAIT_STEP_SECONDS)
    return cache.get(cache_key)
