"""Wait until the database has every migration this code knows about (init containers use it).

With --database-only, wait only until the database answers: the migrate Job's init container,
so on a fresh install the Job waits for PostgreSQL instead of spending its retries while the
database is still starting.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor


class Command(BaseCommand):
    help = "Block until no migrations are pending (or the database answers), or fail after --timeout seconds."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=300.0)
        parser.add_argument("--interval", type=float, default=2.0)
        parser.add_argument("--database-only", action="store_true", help="wait until the database answers")

    def handle(self, *args, timeout: float, interval: float, database_only: bool, **options):
        deadline = time.monotonic() + timeout
        while True:
            try:
                connection.ensure_connection()
                state = None if database_only else _pending(MigrationExecutor(connection))
            except DatabaseError as exc:
                connection.close()
                state = f"database not reachable ({type(exc).__name__})"
            if state is None:
                self.stdout.write("The database answers." if database_only else "No migrations pending.")
                return
            if time.monotonic() >= deadline:
                raise CommandError(f"Gave up after {timeout:.0f}s: {state}.")
            self.stdout.write(f"Waiting: {state}.")
            time.sleep(interval)


def _pending(executor: MigrationExecutor) -> str | None:
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return f"{len(pending)} migrations pending" if pending else None
