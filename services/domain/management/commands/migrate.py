"""`manage.py migrate`, serialized by a PostgreSQL advisory lock.

Two releases rolling out at once, or a Job retried while the first attempt still runs, would
otherwise apply the same migration twice. The second run waits, then finds nothing to do.
"""

import time

from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections

# Any fixed 64-bit number, unique among the advisory locks this database uses.
MIGRATION_LOCK_ID = 727_011_001


class Command(MigrateCommand):
    help = "Apply migrations while holding a PostgreSQL advisory lock, so runs never overlap."

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        with connection.cursor() as cursor:
            started = time.monotonic()
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK_ID])
            if not cursor.fetchone()[0]:
                self.stdout.write("Another migrate run holds the lock; waiting for it to finish.")
                cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_ID])
                self.stdout.write(f"Lock acquired after {time.monotonic() - started:.1f}s.")
        try:
            return super().handle(*args, **options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_ID])
