"""Exports built by a real Celery worker through the real Redis broker (no eager mode)."""

import os
import signal
import time
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery_app import app
from domain.models import ResultExport
from domain.services import export_request
from tests.factories import PollFactory, UserFactory
from tests.waiting import wait_for

pytestmark = pytest.mark.celery_worker
STATS_FLUSH_SECONDS = 2  # PostgreSQL flushes a backend's pending statistics at least every second


def _status(export_id: int) -> str:
    return ResultExport.objects.values_list("status", flat=True).get(pk=export_id)


def test_an_export_completes_end_to_end(celery_worker_process):
    poll = PollFactory(choices=["Red", "Green", "Blue"])

    export = export_request(user=UserFactory(), poll_id=poll.pk)

    wait_for(lambda: _status(export.pk) == "done", 60, "the export to finish")
    export.refresh_from_db()
    assert export.content.splitlines() == [
        "poll_id,question,choice_id,choice,votes",
        *[f"{poll.pk},{poll.question},{c.pk},{c.text},0" for c in poll.choices.all()],
    ]
    assert export.attempts == 1
    assert export.queued_at is not None, "the successful send was recorded"


def test_a_worker_killed_mid_export_completes_it_exactly_once_after_redelivery(
    celery_worker_process,
):
    """Given an export stuck mid-build, when its worker process is SIGKILLed, then the task is
    redelivered and the export completes once, with one result and no export left running."""
    poll = PollFactory()
    settings = connection.settings_dict
    blocker = psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
    )
    try:
        # Hold the choices table so the build blocks half-way, after it marked itself running.
        blocker.execute("LOCK TABLE domain_choice IN ACCESS EXCLUSIVE MODE")
        export = export_request(user=UserFactory(), poll_id=poll.pk)
        wait_for(lambda: _status(export.pk) == "running", 60, "the export to start")
        [child] = celery_worker_process.pool_children()

        os.kill(child, signal.SIGKILL)
        # The killed build still holds the export row until PostgreSQL notices its client is
        # gone, so the redelivered task shows first in the worker's log, not in the row.
        wait_for(lambda: _log(celery_worker_process).count(" received") >= 2, 60, "the redelivery")
    finally:
        blocker.rollback()  # release the table
        blocker.close()

    wait_for(lambda: _status(export.pk) == "done", 60, "the export to finish")
    export.refresh_from_db()
    assert export.attempts == 2
    assert len(export.content.splitlines()) == 1 + poll.choices.count()
    assert ResultExport.objects.filter(poll=poll).count() == 1
    assert "WorkerLostError" in _log(celery_worker_process)


def test_the_worker_keeps_its_database_connection_from_task_to_task(celery_worker_process):
    """Celery's Django fixup would open a new PostgreSQL session for every task."""
    exports = [export_request(user=UserFactory(), poll_id=PollFactory().pk) for _ in range(8)]
    wait_for(lambda: _status(exports[0].pk) == "done", 60, "the first export to finish")
    sessions_after_first = _sessions_started()

    wait_for(lambda: all(_status(e.pk) == "done" for e in exports), 60, "the exports to finish")
    time.sleep(STATS_FLUSH_SECONDS)  # a closed session is counted when its backend exits
    assert _sessions_started() - sessions_after_first <= 1


def _sessions_started() -> int:
    """Sessions ever opened to this database (PostgreSQL flushes the counter within a second)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _log(worker) -> str:
    return worker.log.read_text(errors="replace")


def test_beat_s_retention_task_deletes_expired_exports_on_the_worker(celery_worker_process):
    """Sent by name as beat sends it, the task deletes exports finished before the retention
    period and keeps the rest."""
    long_ago = timezone.now() - timedelta(seconds=settings.EXPORT_RETENTION_SECONDS + 3600)
    expired = ResultExport.objects.create(
        poll=PollFactory(), requested_by=UserFactory(), status="done", finished_at=long_ago
    )
    recent = ResultExport.objects.create(
        poll=PollFactory(), requested_by=UserFactory(), status="failed", finished_at=timezone.now()
    )

    app.send_task(settings.CELERY_BEAT_SCHEDULE["delete-expired-exports"]["task"])

    wait_for(lambda: not ResultExport.objects.filter(pk=expired.pk).exists(), 60, "the expired export to go")
    assert ResultExport.objects.filter(pk=recent.pk).exists()
