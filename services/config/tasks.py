"""Send a Celery task by name once the current database transaction has committed.

Sending after commit means a worker never picks up a task for a row it cannot see yet, and a
rolled-back request sends nothing.
"""

from functools import partial

from django.db import transaction

from config.celery import app


def enqueue(task_name: str, **kwargs) -> None:
    """Send task_name with keyword arguments after the surrounding transaction commits."""
    transaction.on_commit(partial(app.send_task, task_name, kwargs=kwargs), robust=False)
