"""Celery tasks: parse ids, call one domain service. Names are the domain's constants."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from domain.services import CLOSE_EXPIRED_TASK, EXPORT_TASK, export_build, export_fail, poll_close_expired


@shared_task(bind=True, name=EXPORT_TASK, max_retries=5)
def build_results_csv(self, export_id: int) -> None:
    """Build the CSV of one export (idempotent: a rerun finds it done and stops)."""
    try:
        export_build(export_id=export_id)
    except (OperationalError, InterfaceError) as exc:
        # The database is briefly unreachable: try again later instead of failing the export.
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc
    except SoftTimeLimitExceeded:
        export_fail(export_id=export_id, error="The export took too long and was stopped.")


@shared_task(name=CLOSE_EXPIRED_TASK)
def close_expired_polls() -> int:
    """Close polls whose voting window has passed; return how many were closed."""
    return poll_close_expired()
