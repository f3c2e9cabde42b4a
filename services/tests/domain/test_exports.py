"""Exports: idempotent builds, and no export lost when its task could not be queued."""

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
from django.db import connection
from django.utils import timezone

from domain.locks import EXPORT_BUILD_LOCKS, advisory_lock
from domain.models import ResultExport
from domain.services import export_build, export_requeue_stale
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
    ResultExport.objects.filter(pk__in=[stale_pending.pk, lost_message.pk, waiting.pk]).update(
        created_at=long_ago
    )
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
        "from django.db import transaction; from config.tasks import enqueue\n"
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
