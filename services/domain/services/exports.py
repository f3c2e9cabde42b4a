"""Exporting a poll's results as CSV: requested by web or api, built by the worker, deleted later."""

import csv
import io
import math
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from domain.errors import ExportLimitReached, NotFound
from domain.locks import EXPORT_BUILD_LOCKS, EXPORT_REQUEST_LOCKS, advisory_lock, advisory_xact_lock
from domain.models import Choice, Poll, ResultExport
from domain.selectors.exports import export_expired, export_stale
from domain.task_sending import enqueue

EXPORT_TASK = "exports.build_results_csv"
REQUEUE_STALE_TASK = "exports.requeue_stale"
DELETE_EXPIRED_TASK = "exports.delete_expired"
REQUEUE_BATCH = 500
DELETE_BATCH = 1000
CSV_HEADER = ["poll_id", "question", "choice_id", "choice", "votes"]

Status = ResultExport.Status


@transaction.atomic
def export_request(*, user: AbstractBaseUser, poll_id: int) -> ResultExport:
    """Return the user's pending or running export of the poll, or create one and queue its build.

    Raise NotFound for an unknown poll, and ExportLimitReached when the user already requested
    EXPORT_REQUEST_LIMIT exports in the last EXPORT_REQUEST_WINDOW_SECONDS. The limit is counted
    in PostgreSQL, so it holds across every web and api replica, whatever Redis is doing.
    """
    if not Poll.objects.filter(pk=poll_id).exists():
        raise NotFound("No such poll.")
    # One request per user at a time, so concurrent requests can neither overshoot the limit
    # (each would count the others' uncommitted rows as absent) nor race for the same poll.
    advisory_xact_lock(EXPORT_REQUEST_LOCKS + user.pk)
    active = _active_export(user=user, poll_id=poll_id)
    if active is not None:
        return _resend_if_never_queued(active)
    _check_request_limit(user=user)
    try:
        # The partial unique index one_active_export_per_user_per_poll is what guarantees one
        # active export, also against writers that skip the lock above (an older release during
        # a rollout). A savepoint keeps the transaction usable when it refuses the row.
        with transaction.atomic():
            export = ResultExport.objects.create(poll_id=poll_id, requested_by=user)
    except IntegrityError:
        active = _active_export(user=user, poll_id=poll_id)
        if active is None:
            raise
        return active
    _enqueue_build(export.pk)
    return export


def _resend_if_never_queued(export: ResultExport) -> ResultExport:
    # Its task was lost on the way to a broker that was down: asking again sends it now, rather
    # than leaving the user to wait for the sweeper. Building is idempotent, so a send that races
    # the sweeper's costs one no-op run.
    if export.status == Status.PENDING and export.queued_at is None:
        _enqueue_build(export.pk)
    return export


def _active_export(*, user: AbstractBaseUser, poll_id: int) -> ResultExport | None:
    return ResultExport.objects.filter(poll_id=poll_id, requested_by_id=user.pk, status__in=ResultExport.ACTIVE).first()


def _check_request_limit(*, user: AbstractBaseUser) -> None:
    limit = settings.EXPORT_REQUEST_LIMIT
    window = timedelta(seconds=settings.EXPORT_REQUEST_WINDOW_SECONDS)
    now = timezone.now()
    recent = ResultExport.objects.filter(requested_by_id=user.pk, created_at__gt=now - window).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    if recent["count"] < limit:
        return
    retry_after = max(1, math.ceil((recent["oldest"] + window - now).total_seconds()))
    raise ExportLimitReached(
        f"You have reached the limit of {limit} export{'s' if limit != 1 else ''} per {_duration(window)}; "
        f"try again in {_duration(timedelta(seconds=retry_after))}.",
        retry_after=retry_after,
    )


def _duration(span: timedelta) -> str:
    seconds = math.ceil(span.total_seconds())
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def _enqueue_build(export_id: int) -> None:
    enqueue(EXPORT_TASK, export_id=export_id, on_sent=partial(_mark_queued, export_id))


def _mark_queued(export_id: int) -> None:
    # Every successful send restarts the clock, so the sweeper resends a lost task once per
    # running_for, not on every sweep.
    ResultExport.objects.filter(pk=export_id, status=Status.PENDING).update(queued_at=timezone.now())


def export_build(*, export_id: int, max_attempts: int | None = None) -> ResultExport | None:
    """Build the CSV of an export; safe to run any number of times, concurrently or again.

    Returns the export, or None when it does not exist. One run at a time holds the export's
    advisory lock. A copy of the task that arrives meanwhile (the broker redelivers a message whose
    acknowledgement was lost, as in a worker's warm shutdown) waits for it, finds the export done
    and counts no attempt. A run that dies half-way (worker killed) leaves the row "running", its
    transaction rolled back, and its lock released once PostgreSQL sees its connection gone; the
    redelivered task then takes it over and finishes it, so there is always one result.
    An export already started max_attempts times (None: no limit) is marked failed instead.
    """
    with advisory_lock(EXPORT_BUILD_LOCKS + export_id, wait=True):
        active = ResultExport.objects.filter(pk=export_id, status__in=ResultExport.ACTIVE)
        if max_attempts is not None and _give_up(active.filter(attempts__gte=max_attempts)):
            return ResultExport.objects.filter(pk=export_id).first()
        # Visible progress for status pages, in its own short transaction.
        started = active.update(status=Status.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1)
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


def _give_up(exports) -> int:
    """Mark the given active exports failed for having used up their attempts; return how many."""
    return exports.update(
        status=Status.FAILED,
        error=(
            "The export was attempted too many times without finishing, so it was stopped. "
            "Request it again; if it keeps failing, contact the site's operators."
        ),
        finished_at=timezone.now(),
    )


def export_fail(*, export_id: int, error: str) -> None:
    """Record that an export cannot be built, unless a run already finished it."""
    ResultExport.objects.filter(pk=export_id).exclude(status=Status.DONE).update(
        status=Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def export_requeue_stale(*, pending_for: timedelta, running_for: timedelta, max_attempts: int | None = None) -> int:
    """Send the build task again for exports whose task was lost; return how many were sent.

    Three ways a task gets lost: its send failed while the broker was down (pending, never
    queued, for longer than pending_for); its message vanished between the broker and a worker
    that was killed, or with the broker's data (queued, or started, longer ago than running_for,
    which is longer than the broker's own redelivery takes). Exports merely waiting in an
    ordinary queue are left alone, so a backlog is not doubled. Building is idempotent, so a
    resend that races a late delivery costs one no-op run. A lost export already started
    max_attempts times (None: no limit) is marked failed instead of being sent again.
    """
    stale = export_stale(now=timezone.now(), pending_for=pending_for, running_for=running_for)
    if max_attempts is not None:
        _give_up(
            ResultExport.objects.filter(pk__in=stale.filter(attempts__gte=max_attempts).values("pk")[:REQUEUE_BATCH])
        )
        stale = stale.filter(attempts__lt=max_attempts)
    with transaction.atomic():
        ids = list(stale.values_list("pk", flat=True)[:REQUEUE_BATCH])
        for export_id in ids:
            _enqueue_build(export_id)
    return len(ids)


def export_delete_expired(*, retention: timedelta) -> int:
    """Delete one batch of exports that finished more than `retention` ago; return how many.

    A full batch means more may be left: the task is queued again for the rest, so one run never
    holds the table, or a worker, for long however many exports expired at once.
    """
    batch = export_expired(finished_before=timezone.now() - retention).values("pk")[:DELETE_BATCH]
    deleted, _ = ResultExport.objects.filter(pk__in=batch).delete()
    if deleted >= DELETE_BATCH:
        enqueue(DELETE_EXPIRED_TASK)
    return deleted


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
