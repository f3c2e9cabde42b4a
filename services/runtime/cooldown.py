"""A per-process cooldown for optional dependencies (the cache, the broker).

After a failure, calls are skipped for a few seconds instead of each waiting for its own timeout:
with Redis gone, every request would otherwise pay a socket timeout per cache call and a few slow
requests would tie up all of gunicorn's threads. Not a circuit breaker: there is no half-open
state; once the cooldown has passed, every call tries the dependency again.
"""

import time


class Cooldown:
    """Active for `seconds` after each failure; inactive (calls go through) otherwise."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._active_until = 0.0

    @property
    def active(self) -> bool:
        return time.monotonic() < self._active_until

    def start(self) -> None:
        """Record a failure: skip the dependency for the next `seconds`."""
        self._active_until = time.monotonic() + self.seconds
