"""A minimal per-process circuit breaker for optional dependencies (the cache, the broker).

After a failure, calls are skipped for a few seconds instead of each waiting for its own timeout:
with Redis gone, every request would otherwise pay a socket timeout per cache call and a few slow
requests would tie up all of gunicorn's threads.
"""

import time


class Breaker:
    """Open for `cooldown` seconds after a failure; closed again afterwards (one trial call)."""

    def __init__(self, cooldown: float):
        self.cooldown = cooldown
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def failed(self) -> None:
        self._open_until = time.monotonic() + self.cooldown
