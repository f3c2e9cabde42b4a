"""The Celery application shared by producers (web, api) and consumers (worker, beat).

Producers send tasks by name (domain.task_sending.enqueue), so the worker's code is not needed in the
web and api images; only the worker role installs the app that defines the tasks. The worker and
beat run this app with their own additions (worker.celery_worker).
"""

import os

from celery import Celery, signals

from runtime.request_id import TASK_HEADER, current_request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.worker")

app = Celery("polls")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.before_task_publish.connect
def _send_request_id(headers: dict, **_) -> None:
    """Carry the current request id into every task sent while handling a request."""
    request_id = current_request_id.get()
    if request_id and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


@signals.task_prerun.connect
def _adopt_request_id(task, **_) -> None:
    """Log a task's lines under the id of the request that started it."""
    current_request_id.set(getattr(task.request, TASK_HEADER, None))


@signals.setup_logging.connect
def _use_django_logging(**_) -> None:
    """Keep Django's JSON LOGGING config instead of Celery's own handlers."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
