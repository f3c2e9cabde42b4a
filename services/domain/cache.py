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


def cached_poll_list(key: str, build: Callable[[], T], *, timeout: int) -> T:
    """Return build(), cached under the current polls version: any poll or vote change misses."""
    versioned_key = f"polls:{polls_version()}:{key}"
    value = cache.get(versioned_key)
    if value is None:
        value = build()
        cache.set(versioned_key, value, timeout=timeout)
    return value
