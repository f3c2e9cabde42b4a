"""Polls: creation rules, closing expired polls, the cached home page, and the data commands."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from domain.errors import DomainError
from domain.models import Choice, Poll, Vote
from domain.selectors import PollStatus, poll_home_page, poll_list
from domain.services import poll_close_expired, poll_create
from tests.factories import PollFactory, UserFactory, closed_poll

pytestmark = pytest.mark.django_db


def test_poll_create_strips_and_checks_choices(user):
    poll = poll_create(
        owner=user,
        question=" Best season? ",
        choices=["Summer ", " Winter", ""],
        closes_at=timezone.now() + timedelta(days=1),
    )
    assert poll.question == "Best season?"
    assert list(poll.choices.values_list("text", flat=True)) == ["Summer", "Winter"]
    with pytest.raises(DomainError):
        poll_create(owner=user, question="q", choices=["Same", "Same"], closes_at=poll.closes_at)
    assert Poll.objects.count() == 1


def test_close_expired_closes_each_expired_poll_once():
    expired, still_open = closed_poll(), PollFactory()

    assert poll_close_expired() == 1
    assert poll_close_expired() == 0  # a second tick finds nothing to do

    expired.refresh_from_db()
    still_open.refresh_from_db()
    assert expired.closed_at is not None
    assert still_open.closed_at is None


def test_poll_list_filters_by_status():
    now = timezone.now()
    open_poll, old = PollFactory(), closed_poll()
    upcoming = PollFactory(opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2))
    assert list(poll_list(status=PollStatus.OPEN)) == [open_poll]
    assert list(poll_list(status=PollStatus.CLOSED)) == [old]
    assert list(poll_list(status=PollStatus.UPCOMING)) == [upcoming]


def test_home_page_counts_every_vote_of_its_polls():
    poll = PollFactory()
    Choice.objects.filter(poll=poll).update(votes=3)
    assert poll_home_page(page=1).polls[0]["total_votes"] == 6


def test_seed_fills_data_in_volume_and_is_idempotent():
    call_command("seed", users=30, polls=40, votes_per_poll=10, allow_public_password=True, verbosity=0)
    counts = (Poll.objects.count(), Vote.objects.count())
    call_command("seed", users=30, polls=40, votes_per_poll=10, allow_public_password=True, verbosity=0)

    assert counts == (40, 400)
    assert (Poll.objects.count(), Vote.objects.count()) == counts
    assert sum(Choice.objects.values_list("votes", flat=True)) == 400, "counters match the votes"
    assert poll_list(status=PollStatus.OPEN).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_migrate_runs_wait_for_each_other():
    """Given one migrate run holding the advisory lock, a second one waits, then finds no work."""
    from domain.locks import MIGRATION_LOCK_ID

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_ID])
    finished = threading.Event()

    def second_run():
        try:
            call_command("migrate", verbosity=0)
        finally:
            finished.set()
            from django.db import connection as thread_connection

            thread_connection.close()

    thread = threading.Thread(target=second_run)
    thread.start()
    try:
        assert not finished.wait(2), "migrate must wait while another run holds the lock"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_ID])
    assert finished.wait(60)
    thread.join(timeout=10)
    assert UserFactory()  # the database is usable afterwards
