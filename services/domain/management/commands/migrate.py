"""`manage.py migrate`, serialized by a PostgreSQL advisory lock.

Two releases rolling out at once, or a Job retried while the first attempt still runs, would
otherwise apply the same migration twice. The second run waits, then finds nothing to do.
"""

import time

from django.core.management.commands.migrate import Command as MigrateCommand

from domain.locks import MIGRATION_LOCK_ID, advisory_lock


class Command(MigrateCommand):
    help = "Apply migrations while holding a PostgreSQL advisory lock, so runs never overlap."

    def handle(self, *args, **options):
        started = time.monotonic()
        waited = []

        def on_wait():
            waited.append(True)
            self.stdout.write("Another migrate run holds the lock; waiting for it to finish.")

        with advisory_lock(MIGRATION_LOCK_ID, wait=True, on_wait=on_wait, using=options["database"]):
            if waited:
                self.stdout.write(f"Lock acquired after {time.monotonic() - started:.1f}s.")
            return super().handle(*args, **options)
