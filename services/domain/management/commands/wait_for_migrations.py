"""Wait until the database has every migration this code knows about (init containers use it)."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor


class Command(BaseCommand):
    help = "Block until no migrations are pending, or fail after --timeout seconds."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=300.0)
        parser.add_argument("--interval", type=float, default=2.0)

    def handle(self, *args, timeout: float, interval: float, **options):
        deadline = time.monotonic() + timeout
        while True:
            try:
                executor = MigrationExecutor(connection)
                pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
                state = f"{len(pending)} migrations pending" if pending else None
            except DatabaseError as exc:
                connection.close()
                state = f"database not reachable ({type(exc).__name__})"
            if state is None:
                self.stdout.write("No migrations pending.")
                return
            if time.monotonic() >= deadline:
                raise CommandError(f"Gave up after {timeout:.0f}s: {state}.")
            self.stdout.write(f"Waiting: {state}.")
            time.sleep(interval)
