"""Queries about result exports."""

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from domain.errors import ExportNotReady, NotFound
from domain.models import ResultExport

Status = ResultExport.Status


def export_get(*, export_id: int, user: AbstractBaseUser) -> ResultExport:
    """Return an export the user requested (others' exports are reported as not found)."""
    export = ResultExport.objects.filter(pk=export_id, requested_by_id=user.pk).first()
    if export is None:
        raise NotFound("No such export.")
    return export


def export_get_ready(*, export_id: int, user: AbstractBaseUser) -> ResultExport:
    """Return an export the user requested whose CSV is built, for download.

    Raise NotFound as export_get does, and ExportNotReady while it is pending or running, or
    when it failed.
    """
    export = export_get(export_id=export_id, user=user)
    if export.status != Status.DONE:
        raise ExportNotReady(f"The export is {export.status}, not ready to download.")
    return export


def export_stale(*, now: datetime, pending_for: timedelta, running_for: timedelta) -> QuerySet[ResultExport]:
    """Return the exports whose build task was lost (see export_requeue_stale), oldest first.

    Every branch names an active status, so PostgreSQL reads only the few active exports (through
    the partial index one_active_export_per_user_per_poll, or export_status_finished_at), never
    the finished ones that fill the table.
    """
    return ResultExport.objects.filter(
        Q(status=Status.PENDING, queued_at__isnull=True, created_at__lt=now - pending_for)
        | Q(status=Status.PENDING, queued_at__lt=now - running_for)
        | Q(status=Status.RUNNING, started_at__lt=now - running_for)
    ).order_by("created_at")


def export_expired(*, finished_before: datetime) -> QuerySet[ResultExport]:
    """Return the finished (done or failed) exports that finished before the given moment."""
    return ResultExport.objects.filter(status__in=ResultExport.FINISHED, finished_at__lt=finished_before).order_by()
