"""Celery tasks: parse ids, call one domain service. Names are the domain's constants."""

from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from domain.services import (
    CLOSE_EXPIRED_TASK,
    EXPORT_TASK,
    REQUEUE_STALE_TASK,
    export_build,
    export_fail,
    export_requeue_stale,
    poll_close_expired,
)
from domain.services.exports import DELETE_EXPIRED_TASK, export_delete_expired


@shared_task(bind=True, name=EXPORT_TASK, max_retries=5)
def build_results_csv(self, export_id: int) -> None:
    """Build the CSV of one export (idempotent: a rerun finds it done and stops)."""
    try:
        export_build(export_id=export_id, max_attempts=settings.EXPORT_MAX_ATTEMPTS)
    except (OperationalError, InterfaceError) as exc:
        # The database is briefly unreachable: try again later instead of failing the export.
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc
    except SoftTimeLimitExceeded:
        export_fail(export_id=export_id, error="The export took too long and was stopped.")


@shared_task(name=CLOSE_EXPIRED_TASK)
def close_expired_polls() -> int:
    """Close polls whose voting window has passed; return how many were closed."""
    return poll_close_expired()


@shared_task(name=REQUEUE_STALE_TASK)
def requeue_stale_exports() -> int:
    """Send again the exports whose task was lost (broker down at send time, or message lost).

    Those already started EXPORT_MAX_ATTEMPTS times are marked failed instead.
    """
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    return export_requeue_stale(
        pending_for=timedelta(seconds=settings.EXPORT_PENDING_GRACE_SECONDS),
        running_for=timedelta(seconds=visibility * 2),
        max_attempts=settings.EXPORT_MAX_ATTEMPTS,
    )


@shared_task(name=DELETE_EXPIRED_TASK)
def delete_expired_exports() -> int:
    """Delete one batch of exports finished longer ago than the retention period (queues the rest)."""
    return export_delete_expired(retention=timedelta(seconds=settings.EXPORT_RETENTION_SECONDS))
