"""The Celery app as the worker and beat run it: the shared app plus the liveness heartbeat.

Run with `celery -A worker.celery_app worker` and `celery -A worker.celery_app beat`.
"""

from config.celery import app
from worker.heartbeat import HeartbeatStep

app.steps["worker"].add(HeartbeatStep)

__all__ = ["app"]
