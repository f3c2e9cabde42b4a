"""`manage.py migrate`, serialized by a PostgreSQL advisory lock, with bounded lock waits.

Two releases rolling out at once, or a Job retried while the first attempt still runs, would
otherwise apply the same migration twice. The second run waits, then finds nothing to do.

A migration that alters a table needs a lock on it; while it waits behind a long transaction,
every request that touches the table queues behind the migration. So each lock wait is bounded
by MIGRATE_LOCK_TIMEOUT_MS: past it the run fails, naming the variable, and can simply be retried
(see https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT). The
statement timeout the role's connections carry is lifted for the run: building an index on a
large table may rightly take longer than any request.
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
        "each table lock is waited for at most MIGRATE_LOCK_TIMEOUT_MS."
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
                    try:
                        return super().handle(*args, **options)
                    except OperationalError as error:
                        if isinstance(error.__cause__, LockNotAvailable):
                            raise CommandError(_lock_timeout_message(error)) from error
                        raise


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


def _lock_timeout_message(error: OperationalError) -> str:
    return (
        f"A migration could not lock a table within MIGRATE_LOCK_TIMEOUT_MS={settings.MIGRATE_LOCK_TIMEOUT_MS} "
        f"({error.__cause__}). Another session holds a conflicting lock, usually a long transaction. "
        "Migrations applied before this one stay applied and this one can be run again: run migrate "
        "again once that session has finished, or raise MIGRATE_LOCK_TIMEOUT_MS."
    )
