"""The Celery app as the worker and beat run it: the shared app, the liveness heartbeat, and
database connections kept from one task to the next.

Run with `celery -A worker.celery_app worker` and `celery -A worker.celery_app beat`.
"""

from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

from config.celery import app
from worker.heartbeat import HeartbeatStep

app.steps["worker"].add(HeartbeatStep)


@task_prerun.connect
@task_postrun.connect
def _keep_healthy_database_connections(**_kwargs) -> None:
    """Between tasks, close only broken or expired connections (CELERY_DB_REUSE_MAX, settings)."""
    close_old_connections()


__all__ = ["app"]
