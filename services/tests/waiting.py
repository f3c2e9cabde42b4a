"""Bounded waiting for tests that watch something happen in another process."""

import time


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    """Poll predicate until it returns something truthy; fail naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
