"""Liveness for worker and beat: a file whose modification time they keep fresh.

`celery inspect ping` goes through the broker, so a Redis outage would get every healthy worker
restarted; a heartbeat file only says whether this process is still turning its event loop.
"""

import os
import time
from pathlib import Path

from celery import bootsteps
from celery.beat import PersistentScheduler

HEARTBEAT_FILE = Path(os.environ.get("HEARTBEAT_FILE", "/tmp/heartbeat"))
INTERVAL_SECONDS = 5.0


def touch() -> None:
    """Mark this process as alive now."""
    HEARTBEAT_FILE.touch()


class HeartbeatStep(bootsteps.StartStopStep):
    """Worker bootstep: touch the heartbeat file from the worker's own timer."""

    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        touch()
        self.tref = worker.timer.call_repeatedly(INTERVAL_SECONDS, touch, priority=10)

    def stop(self, worker):
        if getattr(self, "tref", None) is not None:
            self.tref.cancel()
        HEARTBEAT_FILE.unlink(missing_ok=True)


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler, touching the heartbeat file on every tick (at most max_interval apart)."""

    def tick(self, *args, **kwargs):
        touch()
        return super().tick(*args, **kwargs)


def main() -> int:
    """Exit 0 if the heartbeat is younger than HEARTBEAT_MAX_AGE seconds (the probe command)."""
    max_age = float(os.environ.get("HEARTBEAT_MAX_AGE", "60"))
    try:
        age = time.time() - HEARTBEAT_FILE.stat().st_mtime
    except FileNotFoundError:
        print(f"no heartbeat file at {HEARTBEAT_FILE}")
        return 1
    if age > max_age:
        print(f"heartbeat is {age:.0f}s old (limit {max_age:.0f}s)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
