"""Run one action from several threads at once, each on its own database connection."""

import threading
from collections.abc import Callable

from django.db import connection


def run_at_once(action: Callable[[int], object], *, threads: int = 8, timeout: float = 30) -> list:
    """Call `action(i)` in threads i = 0 .. threads-1 released together; return each result or exception."""
    start = threading.Barrier(threads)
    outcomes = []

    def run(index: int):
        try:
            start.wait(timeout)
            outcomes.append(action(index))
        except Exception as error:  # noqa: BLE001 - the caller asserts on the outcomes
            outcomes.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout)
    return outcomes
