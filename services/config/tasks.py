"""Send a Celery task by name once the current database transaction has committed.

Sending after commit means a worker never picks up a task for a row it cannot see yet, and a
rolled-back request sends nothing. If the broker is unreachable the send is logged and dropped,
never turned into an error page: the row that needed the task is already committed, and a periodic
sweeper (beat) sends tasks for rows that waited too long, so the work runs once Redis is back.
"""

import logging
from functools import partial

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import RedisError

from config.celery import app

logger = logging.getLogger(__name__)


def enqueue(task_name: str, **kwargs) -> None:
    """Send task_name with keyword arguments after the surrounding transaction commits."""
    transaction.on_commit(partial(_send, task_name, kwargs))


def _send(task_name: str, kwargs: dict) -> None:
    try:
        app.send_task(task_name, kwargs=kwargs)
    except (BrokerUnavailable, RedisError) as exc:
        logger.error("could not queue %s%r, the sweeper will retry: %s", task_name, kwargs, exc)
