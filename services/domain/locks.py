"""PostgreSQL advisory locks: one process at a time for a piece of work, across every replica.

advisory_lock takes a session-level lock, so it can span several transactions; PostgreSQL drops it
by itself when the holder's connection ends, which is what makes it safe against a replica that is
killed half-way. (Those need a session to themselves: behind a transaction-mode pooler such as
PgBouncer, use a session-mode pool for the processes that take them.) advisory_xact_lock takes a
transaction-level one, released at commit or rollback, which works behind any pooler.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections

# Lock ids are 64-bit numbers shared by everything that uses this database, so every user of this
# module keeps to its own range.
MIGRATION_LOCK_ID = 727_011_001
EXPORT_BUILD_LOCKS = 1 << 40  # + the export's id
EXPORT_REQUEST_LOCKS = 2 << 40  # + the requesting user's id


@contextmanager
def advisory_lock(
    lock_id: int, *, wait: bool = False, on_wait: Callable[[], None] | None = None, using: str = DEFAULT_DB_ALIAS
) -> Iterator[bool]:
    """Hold the lock for the block and yield True; or yield False when another session holds it.

    With wait=True it waits for the other session instead (calling on_wait first) and always
    yields True.
    """
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
        held = cursor.fetchone()[0]
        if not held and wait:
            if on_wait:
                on_wait()
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
            held = True
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])


def advisory_xact_lock(lock_id: int, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Wait for the lock and hold it until the current transaction ends (call inside atomic())."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])
