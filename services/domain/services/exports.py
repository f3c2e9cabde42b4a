"""Exporting a poll's results as CSV: requested by web or api, built by the worker."""

import csv
import io
from datetime import timedelta
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.tasks import enqueue
from domain.errors import NotFound
from domain.locks import EXPORT_BUILD_LOCKS, advisory_lock
from domain.models import Choice, Poll, ResultExport

EXPORT_TASK = "exports.build_results_csv"
REQUEUE_STALE_TASK = "exports.requeue_stale"
REQUEUE_BATCH = 500
CSV_HEADER = ["poll_id", "question", "choice_id", "choice", "votes"]

Status = ResultExport.Status


@transaction.atomic
def export_request(*, user: AbstractBaseUser, poll_id: int) -> ResultExport:
    """Create a pending export and queue its build once this transaction commits."""
    if not Poll.objects.filter(pk=poll_id).exists():
        raise NotFound("No such poll.")
    export = ResultExport.objects.create(poll_id=poll_id, requested_by=user)
    _enqueue_build(export.pk)
    return export


def _enqueue_build(export_id: int) -> None:
    enqueue(EXPORT_TASK, export_id=export_id, on_sent=partial(_mark_queued, export_id))


def _mark_queued(export_id: int) -> None:
    # Every successful send restarts the clock, so the sweeper resends a lost task once per
    # running_for, not on every sweep.
    ResultExport.objects.filter(pk=export_id, status=Status.PENDING).update(queued_at=timezone.now())


def export_build(*, export_id: int) -> ResultExport | None:
    """Build the CSV of an export; safe to run any number of times, concurrently or again.

    Returns the export, or None when it does not exist. One run at a time holds the export's
    advisory lock. A copy of the task that arrives meanwhile (the broker redelivers a message whose
    acknowledgement was lost, as in a worker's warm shutdown) waits for it, finds the export done
    and counts no attempt. A run that dies half-way (worker killed) leaves the row "running", its
    transaction rolled back, and its lock released once PostgreSQL sees its connection gone; the
    redelivered task then takes it over and finishes it, so there is always one result.
    """
    with advisory_lock(EXPORT_BUILD_LOCKS + export_id, wait=True):
        # Visible progress for status pages, in its own short transaction.
        started = ResultExport.objects.filter(
            pk=export_id, status__in=[Status.PENDING, Status.RUNNING]
        ).update(status=Status.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1)
        if not started:
            return ResultExport.objects.filter(pk=export_id).first()
        with transaction.atomic():
            export = ResultExport.objects.select_related("poll").get(pk=export_id)
            export.content = _results_csv(export.poll)
            export.status = Status.DONE
            export.error = ""
            export.finished_at = timezone.now()
            export.save(update_fields=["content", "status", "error", "finished_at"])
        return export


def export_fail(*, export_id: int, error: str) -> None:
    """Record that an export cannot be built, unless a run already finished it."""
    ResultExport.objects.filter(pk=export_id).exclude(status=Status.DONE).update(
        status=Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def export_requeue_stale(*, pending_for: timedelta, running_for: timedelta) -> int:
    """Send the build task again for exports whose task was lost; return how many were sent.

    Three ways a task gets lost: its send failed while the broker was down (pending, never
    queued, for longer than pending_for); its message vanished between the broker and a worker
    that was killed, or with the broker's data (queued, or started, longer ago than running_for,
    which is longer than the broker's own redelivery takes). Exports merely waiting in an
    ordinary queue are left alone, so a backlog is not doubled. Building is idempotent, so a
    resend that races a late delivery costs one no-op run.
    """
    now = timezone.now()
    stale = ResultExport.objects.filter(
        Q(status=Status.PENDING, queued_at__isnull=True, created_at__lt=now - pending_for)
        | Q(status=Status.PENDING, queued_at__lt=now - running_for)
        | Q(status=Status.RUNNING, started_at__lt=now - running_for)
    ).values_list("pk", flat=True)[:REQUEUE_BATCH]
    with transaction.atomic():
        ids = list(stale)
        for export_id in ids:
            _enqueue_build(export_id)
    return len(ids)


def _results_csv(poll: Poll) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for choice in Choice.objects.filter(poll=poll).order_by("id"):
        writer.writerow([poll.pk, _cell(poll.question), choice.pk, _cell(choice.text), choice.votes])
    return buffer.getvalue()


def _cell(text: str) -> str:
    # Spreadsheets run cells starting with these as formulas (CSV injection); quote them as text.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
