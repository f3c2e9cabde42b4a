"""The Celery app as the worker and beat run it: the shared app (config.celery_app), the liveness
heartbeat, and database connections kept from one task to the next.

Run with `celery -A worker.celery_worker worker` and
`celery -A worker.celery_worker beat --scheduler worker.celery_worker:HeartbeatScheduler`.
"""

from celery import bootsteps
from celery.beat import PersistentScheduler
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

from config.celery_app import app
from worker import heartbeat


class HeartbeatStep(bootsteps.StartStopStep):
    """Worker bootstep: touch the heartbeat file from the worker's own timer."""

    requires = {"celery.worker.components:Timer"}

    def start(self, worker):
        heartbeat.touch()
        self.tref = worker.timer.call_repeatedly(heartbeat.INTERVAL_SECONDS, heartbeat.touch, priority=10)

    def stop(self, worker):
        if getattr(self, "tref", None) is not None:
            self.tref.cancel()
        heartbeat.forget()


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler, touching the heartbeat file on every tick (at most max_interval apart)."""

    def tick(self, *args, **kwargs):
        heartbeat.touch()
        return super().tick(*args, **kwargs)


app.steps["worker"].add(HeartbeatStep)


@task_prerun.connect
@task_postrun.connect
def _keep_healthy_database_connections(**_kwargs) -> None:
    """Between tasks, close only broken or expired connections (CELERY_DB_REUSE_MAX, settings)."""
    close_old_connections()


__all__ = ["app", "HeartbeatScheduler"]
