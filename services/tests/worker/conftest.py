"""A real Celery worker process for the tests, on the test database and the test Redis broker."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.waiting import wait_for

SERVICES_DIR = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, popen: subprocess.Popen, log: Path):
        self.popen = popen
        self.log = log

    def pool_children(self) -> list[int]:
        """Return the pids of the prefork pool processes (the ones that run tasks)."""
        children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children").read_text()
        return [int(pid) for pid in children.split()]


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """Start `celery worker` (prefork, concurrency 1) against this test's database; stop it after."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # no tasks left from earlier runs
    heartbeat = tmp_path / "heartbeat"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        # The test database pytest-django created (test_<name>), so the worker sees our rows.
        "POSTGRES_DB": connection.settings_dict["NAME"],
        "HEARTBEAT_FILE": str(heartbeat),
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "--app",
        "worker.celery_worker",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        "1",
        "--queues",
        "default,exports",
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        "INFO",
    ]
    with log.open("wb") as output:
        popen = subprocess.Popen(command, cwd=SERVICES_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)
    worker = WorkerProcess(popen, log)
    try:
        wait_for(heartbeat.exists, 60, "the worker's first heartbeat")
        yield worker
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=10)
        _end_leftover_sessions()


def _end_leftover_sessions() -> None:
    """End the database sessions of pool processes that outlived their worker by a moment.

    The worker keeps its connection between tasks; a session left behind would stop pytest-django
    from dropping the test database.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
