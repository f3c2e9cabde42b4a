"""Liveness for worker and beat: a file whose modification time they keep fresh.

`celery inspect ping` goes through the broker, so a Redis outage would get every healthy worker
restarted; a heartbeat file only says whether this process is still turning its event loop.

This module is the probe (`python -m worker.heartbeat`), so it imports nothing but the standard
library: with Celery imported, each probe cost about 120 ms of CPU, which a worker busy at its CPU
limit must find inside the probe's timeout. The Celery side (the worker bootstep and beat's
scheduler that touch the file) lives in worker/celery_worker.py.
"""

import os
import time
from pathlib import Path

HEARTBEAT_FILE = Path(os.environ.get("HEARTBEAT_FILE", "/tmp/heartbeat"))
INTERVAL_SECONDS = 5.0


def touch() -> None:
    """Mark this process as alive now."""
    HEARTBEAT_FILE.touch()


def forget() -> None:
    """Remove the heartbeat on a clean stop, so a stopped process never looks alive."""
    HEARTBEAT_FILE.unlink(missing_ok=True)


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
