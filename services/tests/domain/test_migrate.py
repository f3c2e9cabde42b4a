"""`manage.py migrate`: runs never overlap (advisory lock), and a migration waits for a table lock
at most MIGRATE_LOCK_TIMEOUT_MS instead of queueing every request behind it, is tried again
MIGRATE_LOCK_RETRIES times, then fails with a message naming both."""

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


def _migrate(*args: str, lock_timeout_ms: int = 500, lock_retries: int = 0) -> subprocess.CompletedProcess:
    """Run the migrate command against this test's database, as the migrate service runs it."""
    return subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", *args],
        cwd=SERVICES,
        env=_environ(lock_timeout_ms=lock_timeout_ms, lock_retries=lock_retries),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _environ(*, lock_timeout_ms: int, lock_retries: int = 0) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "POSTGRES_DB": connection.settings_dict["NAME"],
        "MIGRATE_LOCK_TIMEOUT_MS": str(lock_timeout_ms),
        "MIGRATE_LOCK_RETRIES": str(lock_retries),
        "PYTHONUNBUFFERED": "1",
    }


def _other_session() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"], port=s["PORT"], dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"])


def _applied(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM django_migrations WHERE app = 'domain' AND name = %s", [name])
        return cursor.fetchone() is not None


def test_a_migration_blocked_by_a_table_lock_fails_fast_naming_the_variables():
    """Given a long transaction holding the exports table for longer than every try, when migrate
    has to alter that table (here: unapply its last migration), then it gives up after the lock
    timeout, tries once more after a second, and fails with a clear message naming both settings
    and exit code 1, and nothing changed."""
    blocker = _other_session()
    try:
        blocker.execute("LOCK TABLE domain_resultexport IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        result = _migrate("domain", "0003", lock_timeout_ms=500, lock_retries=1)
        elapsed = time.monotonic() - started
    finally:
        blocker.rollback()
        blocker.close()
        if not _applied("0004_export_status_finished_at"):
            _migrate("domain")  # put the test database back for the tests that follow

    assert result.returncode == 1, result.stdout + result.stderr
    assert "could not lock a table within MIGRATE_LOCK_TIMEOUT_MS=500 (try 1 of 2); trying again in 1s" in result.stdout
    final = "could not lock a table within MIGRATE_LOCK_TIMEOUT_MS=500 in 2 tries (MIGRATE_LOCK_RETRIES=1)"
    assert final in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 15, f"{elapsed:.1f}s: it waited for the lock instead of giving up"
    assert _applied("0004_export_status_finished_at")


def test_a_lock_released_after_the_first_timeout_lets_the_next_try_apply_what_is_left():
    """Given a long transaction holding the exports table that ends once migrate's first try has
    timed out, when migrate applies the pending migration on that table, then its second try
    applies it and the run succeeds, with the retry in its output."""
    assert _migrate("domain", "0003").returncode == 0
    blocker = _other_session()
    try:
        blocker.execute("LOCK TABLE domain_resultexport IN ACCESS EXCLUSIVE MODE")
        run = subprocess.Popen(
            [sys.executable, "manage.py", "migrate", "--noinput", "domain"],
            cwd=SERVICES,
            env=_environ(lock_timeout_ms=500, lock_retries=3),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen = _read_until(run, "A migration could not lock a table")
        blocker.rollback()  # the long transaction ends during the pause before the second try
        stdout, stderr = run.communicate(timeout=60)
    finally:
        blocker.rollback()
        blocker.close()
        if not _applied("0004_export_status_finished_at"):
            _migrate("domain")

    # "Applying domain.0004..." and the notice share a line: the first try failed half-way through it.
    assert "could not lock a table within MIGRATE_LOCK_TIMEOUT_MS=500 (try 1 of 4); trying again in 1s" in seen[-1]
    assert run.returncode == 0, stdout + stderr
    assert stdout.count("could not lock a table") == 0, "the second try should have found the table free"
    assert "Applying domain.0004_export_status_finished_at... OK" in stdout
    assert _applied("0004_export_status_finished_at")


def _read_until(process: subprocess.Popen, text: str) -> list[str]:
    """Read the process's stdout lines (log lines share it) until one holds text or stdout ends."""
    seen = []
    while not seen or text not in seen[-1]:
        seen.append(process.stdout.readline())
        if not seen[-1]:
            break
    return seen


def test_a_second_run_still_waits_for_the_first_longer_than_both_timeouts():
    """The lock and statement timeouts do not cut a run's wait for another run's advisory lock:
    it waits as long as that run takes, then finds nothing to do."""
    with advisory_lock(MIGRATION_LOCK_ID):  # the first run, still going
        second = subprocess.Popen(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=SERVICES,
            env={**_environ(lock_timeout_ms=500), "POSTGRES_STATEMENT_TIMEOUT_MS": "1000"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The notice comes once the run waits for the lock (or stdout ends, if it never waits).
        seen = _read_until(second, "Another migrate run holds the lock")
        time.sleep(2)  # four lock timeouts, two statement timeouts
    stdout, stderr = second.communicate(timeout=60)

    assert seen[-1].startswith("Another migrate run holds the lock; waiting"), seen + [stderr]
    assert second.returncode == 0, stderr
    assert "No migrations to apply." in stdout
