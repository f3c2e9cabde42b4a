"""`manage.py migrate`, serialized by a PostgreSQL advisory lock, with bounded lock waits.

Two releases rolling out at once, or a Job retried while the first attempt still runs, would
otherwise apply the same migration twice. The second run waits, then finds nothing to do.

A migration that alters a table needs a lock on it; while it waits behind a long transaction,
every request that touches the table queues behind the migration. So each lock wait is bounded
by MIGRATE_LOCK_TIMEOUT_MS (https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT).
Past it the migration rolls back and is tried again after a short pause, up to MIGRATE_LOCK_RETRIES
times: each try plans afresh from django_migrations, so it runs only what has not applied yet (a
non-atomic migration must be written to run again after a partial run, as ours are). Then the run
fails with a message naming both settings. The statement timeout the role's connections carry is
lifted for the run: building an index on a large table may rightly take longer than any request.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import OperationalError, connections
from psycopg.errors import LockNotAvailable

from domain.locks import MIGRATION_LOCK_ID, advisory_lock


class Command(MigrateCommand):
    help = (
        "Apply migrations while holding a PostgreSQL advisory lock, so runs never overlap; "
        "each table lock is waited for at most MIGRATE_LOCK_TIMEOUT_MS, tried MIGRATE_LOCK_RETRIES more times."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        waited = []

        def on_wait():
            waited.append(True)
            self.stdout.write("Another migrate run holds the lock; waiting for it to finish.")

        database = options["database"]
        # Another run's advisory lock is waited for as long as that run takes: neither the
        # statement timeout nor the lock timeout may cut that wait, so the lock timeout starts
        # only once this run holds it.
        with _session_setting(database, "statement_timeout", "0"):
            with advisory_lock(MIGRATION_LOCK_ID, wait=True, on_wait=on_wait, using=database):
                if waited:
                    self.stdout.write(f"Lock acquired after {time.monotonic() - started:.1f}s.")
                with _session_setting(database, "lock_timeout", f"{settings.MIGRATE_LOCK_TIMEOUT_MS}ms"):
                    return self._migrate_retrying_lock_timeouts(*args, **options)

    def _migrate_retrying_lock_timeouts(self, *args, **options):
        tries = settings.MIGRATE_LOCK_RETRIES + 1
        for attempt in range(1, tries + 1):
            try:
                return super().handle(*args, **options)
            except OperationalError as error:
                if not isinstance(error.__cause__, LockNotAvailable):
                    raise
                if attempt == tries:
                    raise CommandError(_lock_timeout_message(error, tries)) from error
                pause = _retry_pause_seconds(attempt)
                self.stdout.write(
                    f"A migration could not lock a table within MIGRATE_LOCK_TIMEOUT_MS="
                    f"{settings.MIGRATE_LOCK_TIMEOUT_MS} (try {attempt} of {tries}); trying again in {pause}s."
                )
                time.sleep(pause)


@contextmanager
def _session_setting(database: str, name: str, value: str) -> Iterator[None]:
    """Set a PostgreSQL setting on the session for the block, then restore the connection's own."""
    connection = connections[database]
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"RESET {name}")


def _retry_pause_seconds(attempt: int) -> int:
    """Return the pause before try attempt + 1: 1, 2, 4 ... seconds, at most 30."""
    return min(2 ** (attempt - 1), 30)


def _lock_timeout_message(error: OperationalError, tries: int) -> str:
    return (
        f"A migration could not lock a table within MIGRATE_LOCK_TIMEOUT_MS={settings.MIGRATE_LOCK_TIMEOUT_MS} "
        f"in {tries} tries (MIGRATE_LOCK_RETRIES={settings.MIGRATE_LOCK_RETRIES}) ({error.__cause__}). "
        "Another session holds a conflicting lock, usually a long transaction. Migrations applied "
        "before this one stay applied and this one can be run again: run migrate again once that "
        "session has finished, or raise MIGRATE_LOCK_TIMEOUT_MS or MIGRATE_LOCK_RETRIES."
    )
