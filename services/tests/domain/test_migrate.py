"""`manage.py migrate`: runs never overlap (advisory lock), and a migration waits for a table lock
at most MIGRATE_LOCK_TIMEOUT_MS, then fails with a message naming it, instead of queueing every
request behind it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from domain.locks import MIGRATION_LOCK_ID, advisory_lock

pytestmark = pytest.mark.django_db(transaction=True)
SERVICES = Path(__file__).resolve().parents[2]


def _migrate(*args: str, lock_timeout_ms: int = 500) -> subprocess.CompletedProcess:
    """Run the migrate command against this test's database, as the migrate service runs it."""
    return subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", *args],
        cwd=SERVICES,
        env=_environ(lock_timeout_ms=lock_timeout_ms),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _environ(*, lock_timeout_ms: int) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "POSTGRES_DB": connection.settings_dict["NAME"],
        "MIGRATE_LOCK_TIMEOUT_MS": str(lock_timeout_ms),
    }


def _other_session() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"], port=s["PORT"], dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"])


def _applied(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM django_migrations WHERE app = 'domain' AND name = %s", [name])
        return cursor.fetchone() is not None


def test_a_migration_blocked_by_a_table_lock_fails_fast_naming_the_variable():
    """Given a long transaction holding the exports table, when migrate has to alter that table
    (here: unapply its last migration), then it gives up after the lock timeout with a clear
    message and exit code 1, and nothing changed."""
    blocker = _other_session()
    try:
        blocker.execute("LOCK TABLE domain_resultexport IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        result = _migrate("domain", "0003", lock_timeout_ms=500)
        elapsed = time.monotonic() - started
    finally:
        blocker.rollback()
        blocker.close()
        if not _applied("0004_export_status_finished_at"):
            _migrate("domain")  # put the test database back for the tests that follow

    assert result.returncode == 1, result.stdout + result.stderr
    assert "could not lock a table within MIGRATE_LOCK_TIMEOUT_MS=500" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 15, f"{elapsed:.1f}s: it waited for the lock instead of giving up"
    assert _applied("0004_export_status_finished_at")


def test_a_second_run_still_waits_for_the_first_longer_than_both_timeouts():
    """The lock and statement timeouts do not cut a run's wait for another run's advisory lock:
    it waits as long as that run takes, then finds nothing to do."""
    with advisory_lock(MIGRATION_LOCK_ID):  # the first run, still going
        second = subprocess.Popen(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=SERVICES,
            env={**_environ(lock_timeout_ms=500), "POSTGRES_STATEMENT_TIMEOUT_MS": "1000", "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Log lines (JSON) share stdout; the notice comes once the run waits for the lock (or
        # stdout ends, if the run never waits).
        seen = []
        while not any(line.startswith("Another migrate run holds the lock") for line in seen):
            seen.append(second.stdout.readline())
            if not seen[-1]:
                break
        time.sleep(2)  # four lock timeouts, two statement timeouts
    stdout, stderr = second.communicate(timeout=60)

    assert seen[-1].startswith("Another migrate run holds the lock; waiting"), seen + [stderr]
    assert second.returncode == 0, stderr
    assert "No migrations to apply." in stdout
