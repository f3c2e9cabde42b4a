"""Send a Celery task by name once the current database transaction has committed.

Sending after commit means a worker never picks up a task for a row it cannot see yet, and a
rolled-back request sends nothing. If the broker is unreachable the send is logged and dropped,
never turned into an error page: the row that needed the task is already committed, and a periodic
sweeper (beat) sends tasks for rows that waited too long, so the work runs once Redis is back.
Named for what it does, apart from worker.tasks (the tasks themselves).
"""

import logging
from collections.abc import Callable
from functools import partial

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import RedisError

from config.celery_app import app
from runtime.cooldown import Cooldown

logger = logging.getLogger(__name__)
# Seconds sends are skipped after the broker failed, before one send tries it again.
_cooldown = Cooldown(seconds=5.0)


def enqueue(task_name: str, *, on_sent: Callable[[], None] | None = None, **kwargs) -> None:
    """Send task_name with keyword arguments after the surrounding transaction commits.

    on_sent runs once the broker has the task, e.g. to record that a row no longer needs the
    sweeper.
    """
    transaction.on_commit(partial(_send, task_name, kwargs, on_sent))


def _send(task_name: str, kwargs: dict, on_sent: Callable[[], None] | None) -> None:
    if _cooldown.active:
        logger.error("broker unavailable, not queueing %s%r; the sweeper will retry", task_name, kwargs)
        return
    try:
        app.send_task(task_name, kwargs=kwargs)
    except (BrokerUnavailable, RedisError) as exc:
        _cooldown.start()
        logger.error("could not queue %s%r, the sweeper will retry: %s", task_name, kwargs, exc)
        return
    if on_sent is not None:
        on_sent()
