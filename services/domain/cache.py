"""Versioned cache keys for lists that change whenever a poll or a vote does.

Bumping one version key invalidates every cached page at once, on every replica, without
scanning Redis. While Redis is down reads miss and bumps are lost; the short TTL bounds staleness.
"""

import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")

_VERSION_KEY = "polls:version"


def polls_version() -> str:
    """Return the current version of poll lists, creating one if none is cached."""
    version = cache.get(_VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        cache.add(_VERSION_KEY, version, timeout=None)
    return version


def polls_changed() -> None:
    """Invalidate every cached poll list (call after the change has committed)."""
    cache.set(_VERSION_KEY, uuid.uuid4().hex, timeout=None)


def cached_poll_list(key: str, build: Callable[[], T], *, timeout: int, stored_as: Callable[[T], str] | None = None) -> T:
    """Return build(), cached under the current polls version: any poll or vote change misses.

    stored_as names the key a fresh result is stored under when it differs from the one asked
    for (a page number out of range that shows the last page), so odd requests cannot fill Redis
    with copies.
    """
    version = polls_version()
    value = cache.get(f"polls:{version}:{key}")
    if value is None:
        value = build()
        cache.set(f"polls:{version}:{stored_as(value) if stored_as else key}", value, timeout=timeout)
    return value
