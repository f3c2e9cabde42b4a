"""Run inside an api container (`docker exec ... python -c`): queue exports, then read their times.

Standalone on purpose: it is sent as the text of `python -c` to a container of the stack, where
Django and the domain code are, and prints one JSON line. Queueing goes through the domain's own
service (export_request: a row, then the task sent after commit), as the API does.

    enqueue COUNT RATE      COUNT exports, poll by poll, then user by user; RATE per second (0: at once)
    collect FIRST LAST SECONDS   wait (at most SECONDS) until exports FIRST..LAST are finished
"""

import json
import sys
import time

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from domain.models import Poll, ResultExport  # noqa: E402
from domain.services import export_request  # noqa: E402


def enqueue(count: int, rate: float) -> dict:
    # A user has at most one active export per poll: past one user's len(polls) requests, a batch
    # queued while the workers are paused would get back the exports already queued. Taking the
    # next demo user after each round of polls makes every request a new export.
    users = list(get_user_model().objects.filter(username__startswith="demo").order_by("username"))
    polls = list(Poll.objects.order_by("id").values_list("id", flat=True)[:50])
    ids, start = [], time.monotonic()
    for i in range(count):
        if rate > 0:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        user = users[i // len(polls) % len(users)]
        ids.append(export_request(user=user, poll_id=polls[i % len(polls)]).pk)
    return {"first": min(ids), "last": max(ids), "count": len(ids), "seconds": time.monotonic() - start}


def collect(first: int, last: int, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    rows = ResultExport.objects.filter(pk__range=(first, last))
    while time.monotonic() < deadline:
        if not rows.filter(finished_at__isnull=True).exists():
            break
        time.sleep(0.25)
    return {
        "rows": [
            {
                "status": r.status,
                "created": r.created_at.timestamp(),
                "queued": r.queued_at.timestamp() if r.queued_at else None,  # when the broker took the task
                "started": r.started_at.timestamp() if r.started_at else None,
                "finished": r.finished_at.timestamp() if r.finished_at else None,
            }
            for r in rows.only("status", "created_at", "queued_at", "started_at", "finished_at")
        ]
    }


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "enqueue":
        print(json.dumps(enqueue(int(args[0]), float(args[1]))))
    else:
        print(json.dumps(collect(int(args[0]), int(args[1]), float(args[2]))))
