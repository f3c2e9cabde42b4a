"""Exports: idempotent builds, no export lost when its task could not be queued, one active export
per user and poll, a per-user request limit, bounded attempts and a retention period."""

import base64
import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from domain.errors import ExportLimitReached, ExportNotReady
from domain.locks import EXPORT_BUILD_LOCKS, advisory_lock
from domain.models import ResultExport
from domain.selectors.exports import export_expired, export_get_ready, export_stale
from domain.services import export_build, export_request, export_requeue_stale
from domain.services import exports as export_services
from domain.services.exports import DELETE_EXPIRED_TASK, export_delete_expired
from tests.concurrency import run_at_once
from tests.factories import PollFactory, UserFactory

pytestmark = pytest.mark.django_db
SERVICES = Path(__file__).resolve().parents[2]


def _export(status="pending", **fields) -> ResultExport:
    return ResultExport.objects.create(poll=PollFactory(), requested_by=UserFactory(), status=status, **fields)


def test_building_twice_yields_one_result():
    export = _export()
    first = export_build(export_id=export.pk)
    second = export_build(export_id=export.pk)
    assert first.status == second.status == "done"
    assert second.content == first.content
    assert ResultExport.objects.get(pk=export.pk).attempts == 1, "the second run did no work"


@pytest.mark.django_db(transaction=True)
def test_a_copy_of_the_task_waits_for_the_run_in_progress_and_counts_no_attempt():
    """A redelivered message for an export being built waits for that build, then finds it done."""
    export = _export()
    copy = {}
    with advisory_lock(EXPORT_BUILD_LOCKS + export.pk):  # a worker is building it
        thread = threading.Thread(target=_in_own_connection, args=(copy, export.pk))
        thread.start()
        thread.join(1.0)
        assert thread.is_alive(), "the copy waits while the export is being built"
        assert ResultExport.objects.get(pk=export.pk).attempts == 0
        export_build(export_id=export.pk)  # the build in progress finishes (the lock is reentrant)
    thread.join(30)
    assert copy["status"] == "done"
    assert ResultExport.objects.get(pk=export.pk).attempts == 1, "the copy did no work"


def _in_own_connection(result: dict, export_id: int) -> None:
    try:
        result["status"] = export_build(export_id=export_id).status
    finally:
        connection.close()


def test_csv_cells_cannot_smuggle_formulas():
    poll = PollFactory(question="=HYPERLINK(1)", choices=["+1", "@x"])
    export = ResultExport.objects.create(poll=poll, requested_by=UserFactory())
    content = export_build(export_id=export.pk).content
    assert "'=HYPERLINK(1)" in content and ",'+1," in content and ",'@x," in content


def test_stale_exports_are_sent_again_through_the_real_broker(django_capture_on_commit_callbacks):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("exports")
    long_ago = timezone.now() - timedelta(hours=1)
    stale_pending = _export()  # its send failed: never queued
    lost_message = _export(queued_at=long_ago)  # queued an hour ago and never started: lost
    waiting = _export(queued_at=timezone.now() - timedelta(minutes=5))  # in an ordinary queue
    ResultExport.objects.filter(pk__in=[stale_pending.pk, lost_message.pk, waiting.pk]).update(created_at=long_ago)
    stuck_running = _export(status="running", started_at=long_ago)
    _export()  # pending, but only just created
    _export(status="running", started_at=timezone.now())  # running normally
    _export(status="done", finished_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        sent = export_requeue_stale(pending_for=timedelta(minutes=2), running_for=timedelta(minutes=10))

    assert sent == 3
    assert broker.llen("exports") == 3
    assert sorted(_queued_export_ids(broker)) == sorted([stale_pending.pk, lost_message.pk, stuck_running.pk])
    stale_pending.refresh_from_db()
    assert stale_pending.queued_at is not None, "a successful send is recorded"
    with django_capture_on_commit_callbacks(execute=True):
        assert export_requeue_stale(pending_for=timedelta(minutes=2), running_for=timedelta(minutes=10)) == 1, (
            "only the running one again: the resent pending ones were marked queued just now"
        )


def test_a_request_whose_task_cannot_be_queued_still_succeeds_quickly():
    """With the broker unreachable, enqueue logs the loss instead of failing the request."""
    script = (
        "from django.db import transaction; from domain.task_sending import enqueue\n"
        "with transaction.atomic(): enqueue('exports.build_results_csv', export_id=1)\n"
        "print('request finished')\n"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=SERVICES,
        env={**_environ(), "CELERY_BROKER_URL": "redis://127.0.0.1:9/0"},  # nothing listens on 9
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "request finished" in result.stdout
    assert "the sweeper will retry" in result.stdout + result.stderr
    assert elapsed < 15


def test_asking_again_for_an_export_whose_task_was_lost_sends_it_now(django_capture_on_commit_callbacks):
    """An export requested while the broker was down waits for the sweeper; the user asking again
    (the same export comes back) sends it at once, and one already in the queue is not sent twice."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("exports")
    lost = _export()  # pending, never queued: the broker was down when it was requested
    queued = _export(queued_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        again = export_request(user=lost.requested_by, poll_id=lost.poll_id)
    with django_capture_on_commit_callbacks(execute=True):
        export_request(user=queued.requested_by, poll_id=queued.poll_id)

    assert again.pk == lost.pk and ResultExport.objects.count() == 2
    assert _queued_export_ids(broker) == [lost.pk]
    lost.refresh_from_db()
    assert lost.queued_at is not None


def _queued_export_ids(broker) -> list[int]:
    """Decode the Celery messages waiting in the exports queue (kombu's Redis list)."""
    ids = []
    for raw in broker.lrange("exports", 0, -1):
        message = json.loads(raw)
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        ids.append(kwargs["export_id"])
    return ids


def _environ() -> dict:
    import os

    return {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}


# One active export per user and poll -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_the_same_poll_create_one_export():
    """Eight simultaneous requests of one user for one poll all get the same, single export."""
    poll, user = PollFactory(), UserFactory()

    results = run_at_once(lambda _: export_request(user=user, poll_id=poll.pk).pk, threads=8)

    assert len(results) == 8 and len(set(results)) == 1, results
    assert list(ResultExport.objects.filter(poll=poll).values_list("pk", flat=True)) == [results[0]]


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_second_active_export_and_the_request_gets_the_first():
    """A writer that skips the service (an older release mid-rollout) inserts an active export at
    the same moment: the unique index makes the request wait for it, then return it, not fail."""
    poll, user = PollFactory(), UserFactory()
    inserted, theirs = threading.Event(), {}

    def other_writer():
        try:
            with transaction.atomic():
                theirs["pk"] = ResultExport.objects.create(poll=poll, requested_by=user).pk
                inserted.set()
                time.sleep(0.5)  # not committed yet while the request runs
        finally:
            connection.close()

    thread = threading.Thread(target=other_writer)
    thread.start()
    assert inserted.wait(10)
    export = export_request(user=user, poll_id=poll.pk)
    thread.join(10)

    assert export.pk == theirs["pk"]
    assert ResultExport.objects.filter(poll=poll).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        ResultExport.objects.create(poll=poll, requested_by=user, status="running")


def test_a_finished_export_does_not_stop_a_new_one():
    """Once the first export is done (or failed), asking again builds a fresh one."""
    poll, user = PollFactory(), UserFactory()
    first = export_request(user=user, poll_id=poll.pk)
    assert export_request(user=user, poll_id=poll.pk).pk == first.pk, "still pending: the same one"
    export_build(export_id=first.pk)

    second = export_request(user=user, poll_id=poll.pk)

    assert second.pk != first.pk and second.status == "pending"
    assert export_request(user=UserFactory(), poll_id=poll.pk).pk not in (first.pk, second.pk), (
        "another user's request is their own"
    )


# The request limit ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "running", "failed"])
def test_only_a_done_export_is_ready_to_download(status):
    export = _export(status=status)
    with pytest.raises(ExportNotReady, match=f"The export is {status}, not ready to download."):
        export_get_ready(export_id=export.pk, user=export.requested_by)

    export_build(export_id=_export().pk)
    done = ResultExport.objects.get(status="done")
    assert export_get_ready(export_id=done.pk, user=done.requested_by).content.startswith("poll_id,")


def test_a_user_over_the_export_limit_is_refused_with_when_to_retry(settings):
    """EXPORT_REQUEST_LIMIT new exports per window; the next is refused, nothing written, until the
    oldest of them leaves the window. Other users and exports already in progress are unaffected."""
    settings.EXPORT_REQUEST_LIMIT = 2
    settings.EXPORT_REQUEST_WINDOW_SECONDS = 600
    user = UserFactory()
    first, second, third = PollFactory(), PollFactory(), PollFactory()
    export_request(user=user, poll_id=first.pk)
    in_progress = export_request(user=user, poll_id=second.pk)

    with pytest.raises(ExportLimitReached) as refused:
        export_request(user=user, poll_id=third.pk)

    assert 590 <= refused.value.retry_after <= 600
    assert "the limit of 2 exports per 10 minutes; try again in 10 minutes" in refused.value.message
    assert ResultExport.objects.filter(requested_by=user).count() == 2
    assert export_request(user=user, poll_id=second.pk).pk == in_progress.pk, "the one in progress"
    assert export_request(user=UserFactory(), poll_id=third.pk).status == "pending", "another user"

    ResultExport.objects.filter(requested_by=user).update(created_at=timezone.now() - timedelta(minutes=11))
    assert export_request(user=user, poll_id=third.pk).status == "pending", "the window has passed"


# Bounded attempts -------------------------------------------------------------------------------


def test_an_export_that_used_up_its_attempts_is_marked_failed_not_built():
    export = _export(status="running", attempts=3, started_at=timezone.now() - timedelta(hours=1))

    result = export_build(export_id=export.pk, max_attempts=3)

    assert result.status == "failed"
    assert "attempted too many times" in result.error
    assert result.content == "" and result.attempts == 3 and result.finished_at is not None


def test_an_export_with_attempts_left_is_built():
    export = _export(attempts=2)
    assert export_build(export_id=export.pk, max_attempts=3).status == "done"
    assert ResultExport.objects.get(pk=export.pk).attempts == 3


def test_the_sweeper_marks_exports_out_of_attempts_failed_instead_of_resending(django_capture_on_commit_callbacks):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("exports")
    long_ago = timezone.now() - timedelta(hours=1)
    worn_out = _export(status="running", started_at=long_ago, attempts=3)
    retry = _export(status="running", started_at=long_ago, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        sent = export_requeue_stale(pending_for=timedelta(minutes=2), running_for=timedelta(minutes=10), max_attempts=3)

    assert sent == 1
    assert _queued_export_ids(broker) == [retry.pk]
    worn_out.refresh_from_db()
    assert worn_out.status == "failed" and "attempted too many times" in worn_out.error
    with django_capture_on_commit_callbacks(execute=True):
        export_requeue_stale(pending_for=timedelta(minutes=2), running_for=timedelta(minutes=10), max_attempts=3)
    assert _queued_export_ids(broker) == [retry.pk, retry.pk], "the failed one is never sent again"


# Retention --------------------------------------------------------------------------------------


def test_finished_exports_past_retention_are_deleted_in_bounded_batches(
    monkeypatch, django_capture_on_commit_callbacks
):
    """Each run deletes at most DELETE_BATCH exports and queues itself again for the rest; exports
    still in progress, or finished within the retention period, stay."""
    monkeypatch.setattr(export_services, "DELETE_BATCH", 2)
    two_days_ago = timezone.now() - timedelta(days=2)
    expired = [_export(status=status, finished_at=two_days_ago) for status in ("done", "done", "failed")]
    kept = [
        _export(status="done", finished_at=timezone.now() - timedelta(hours=1)),
        _export(status="pending"),
        _export(status="running", started_at=two_days_ago),
    ]
    ResultExport.objects.filter(pk__in=[e.pk for e in expired + kept]).update(created_at=two_days_ago)

    with django_capture_on_commit_callbacks() as first_run:
        assert export_delete_expired(retention=timedelta(days=1)) == 2
    with django_capture_on_commit_callbacks() as second_run:
        assert export_delete_expired(retention=timedelta(days=1)) == 1

    assert len(first_run) == 1, "a full batch queues the task again for the rest"
    assert second_run == [], "the last batch was not full: done"
    assert sorted(ResultExport.objects.values_list("pk", flat=True)) == sorted(e.pk for e in kept)


def test_the_retention_task_is_scheduled_in_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["delete-expired-exports"]
    assert entry["task"] == DELETE_EXPIRED_TASK
    assert settings.EXPORT_RETENTION_SECONDS > 0


def test_the_sweeper_and_the_retention_delete_read_through_an_index():
    """With many finished exports (the common state of the table), neither query reads every row:
    the retention delete uses the (status, finished_at) index, the sweeper that one or the partial
    index that holds only the active exports."""
    poll, user = PollFactory(), UserFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO domain_resultexport (poll_id, requested_by_id, status, content, error, attempts,"
            " created_at, finished_at)"
            " SELECT %s, %s, CASE WHEN n %% 10 = 0 THEN 'failed' ELSE 'done' END, '', '', 1, now(),"
            "  now() - (n %% 3600) * interval '1 second'"
            " FROM generate_series(1, 20000) AS n",
            [poll.pk, user.pk],
        )
        cursor.execute("ANALYZE domain_resultexport")
    now = timezone.now()

    sweeper = export_stale(now=now, pending_for=timedelta(minutes=2), running_for=timedelta(minutes=10))
    sweeper_plan = sweeper.values("pk")[: export_services.REQUEUE_BATCH].explain()
    retention_plan = export_expired(finished_before=now - timedelta(days=1)).values("pk")[:1000].explain()

    assert "export_status_finished_at" in retention_plan, retention_plan
    assert any(
        index in sweeper_plan for index in ("one_active_export_per_user_per_poll", "export_status_finished_at")
    ), sweeper_plan
    assert "Seq Scan" not in sweeper_plan + retention_plan
