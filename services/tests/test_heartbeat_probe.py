"""The worker's and beat's liveness probe: `python -m worker.heartbeat`, run by Docker and Kubernetes."""

import os
import subprocess
import sys
import time
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[1]


def _probe(heartbeat: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "worker.heartbeat"],
        cwd=SERVICES,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", ""), "HEARTBEAT_FILE": str(heartbeat), **env},
    )


def test_a_fresh_heartbeat_is_alive(tmp_path):
    heartbeat = tmp_path / "heartbeat"
    heartbeat.touch()
    assert _probe(heartbeat).returncode == 0


def test_a_stale_or_missing_heartbeat_fails_and_says_why(tmp_path):
    heartbeat = tmp_path / "heartbeat"
    missing = _probe(heartbeat)
    assert missing.returncode == 1 and "no heartbeat file" in missing.stdout
    heartbeat.touch()
    old = time.time() - 120
    os.utime(heartbeat, (old, old))
    stale = _probe(heartbeat, HEARTBEAT_MAX_AGE="60")
    assert stale.returncode == 1 and "old (limit 60s)" in stale.stdout


def test_the_probe_imports_neither_celery_nor_django():
    """A busy worker at its CPU limit must run the probe within its timeout: no heavy imports."""
    code = "import sys, worker.heartbeat; print(sorted(m for m in ('celery', 'django', 'kombu') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=SERVICES, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
